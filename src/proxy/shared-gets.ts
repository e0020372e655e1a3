import type { IncomingHttpHeaders, ServerResponse } from 'node:http'
import { LRUCache } from 'lru-cache'
import type { Clock } from '../clock.js'
import type { ForwardResult, ResponseTap } from './forward/flight.js'

/**
 * Identical GETs of one caller share one request to Cloud 66, where every request spends the
 * caller's hourly budget: a dashboard of ten panels in two tabs asks the same URLs at once.
 *
 * - **Coalescing** (on unless --coalesce off): while a GET or HEAD is on its way, the same
 *   request from the same caller, with the same token, for the same target and the same
 *   representation headers waits for it and gets a copy of the whole answer. Only answers up to
 *   SHARE_LIMIT_BYTES are copied from a buffer; past that the waiters are let go at once to send
 *   their own requests.
 * - **The micro-cache** (--cache-ttl, off by default): a complete `200` to a GET is kept for the
 *   TTL per caller and token, within --cache-max-bytes (lru-cache's own size accounting), unless
 *   Cloud 66 said `no-store`, `no-cache` or `Vary: *`. Served with `Age` and
 *   `X-C66-Proxy-Cache: hit`. Any other method from the caller (a deploy, a setting changed)
 *   drops the caller's entries for that stack and the stack list (or all of the caller's, for a
 *   write outside a stack) before it is sent and again once it is answered.
 *
 * Never across callers or tokens: both are in the key. A request that says what it already has
 * (If-None-Match, If-Modified-Since, Range) or asks for a fresh answer (Cache-Control: no-cache,
 * Pragma: no-cache), or carries a body, is neither shared nor cached.
 */

/** The largest answer copied to waiters or kept in the cache. */
export const SHARE_LIMIT_BYTES = 1024 * 1024

/** Request headers that choose the representation: requests that differ in one are different requests. */
const REPRESENTATION = ['accept', 'accept-encoding', 'accept-language', 'x-account', 'content-type', 'x-requested-with'] as const
const NOT_SHARED = [
  'range',
  'if-none-match',
  'if-modified-since',
  'if-match',
  'if-unmodified-since',
  'if-range',
  'content-length',
  'transfer-encoding',
] as const

export interface Captured {
  readonly status: number
  readonly reason: string
  /** The headers the first caller got, `[name, value, …]`. */
  readonly headers: readonly string[]
  readonly body: Buffer
  /** When Cloud 66's answer arrived (the clock's time): Age is counted from it. */
  readonly at: number
}

export interface SharedGetsOptions {
  readonly coalesce: boolean
  /** 0: no cache. */
  readonly cacheTtlMs: number
  readonly cacheMaxBytes: number
  readonly clock: Clock
  /** Counts each request answered without a request of its own to Cloud 66. */
  readonly saved: (how: 'coalesced' | 'cache') => void
}

export interface ShareRequest {
  readonly callerId: string
  readonly tokenFingerprint: string
  readonly method: string
  readonly upstreamPath: string
  readonly headers: IncomingHttpHeaders
  /** Location headers are rewritten to it, so it is part of what the answer looks like. */
  readonly publicOrigin: string
}

interface InFlight {
  readonly waiters: Array<(captured: Captured | undefined) => void>
}

export class SharedGets {
  readonly #inFlight = new Map<string, InFlight>()
  readonly #cache: LRUCache<string, Captured> | undefined
  /** Raised by each write of a caller: an answer that began before it is not cached. */
  readonly #generation = new Map<string, number>()

  constructor(private readonly o: SharedGetsOptions) {
    this.#cache =
      o.cacheTtlMs > 0
        ? new LRUCache<string, Captured>({
            maxSize: o.cacheMaxBytes,
            sizeCalculation: (v) => v.body.length + v.headers.reduce((n, h) => n + h.length, 0) + 64,
            ttl: o.cacheTtlMs,
            // The proxy's clock, so that tests can move it (and an entry's age is wall time).
            perf: { now: () => o.clock.now() },
          })
        : undefined
  }

  get enabled(): boolean {
    return this.o.coalesce || this.#cache !== undefined
  }

  /** The key under which `r` may be shared, or undefined when it must go on its own. */
  keyOf(r: ShareRequest): string | undefined {
    if (r.method !== 'GET' && r.method !== 'HEAD') return undefined
    const h = r.headers
    for (const name of NOT_SHARED) if (h[name] !== undefined) return undefined
    if (/no-cache|no-store/i.test(String(h['cache-control'] ?? '')) || /no-cache/i.test(String(h['pragma'] ?? ''))) return undefined
    let key = `${r.callerId}\n${r.tokenFingerprint}\n${r.method}\n${r.upstreamPath}\n${r.publicOrigin}`
    for (const name of REPRESENTATION) {
      const v = h[name]
      key += `\n${v === undefined ? '' : String(v)}`
    }
    return key
  }

  /** A cached answer for `key`, or undefined. */
  cached(key: string): Captured | undefined {
    if (this.#cache === undefined || !key.includes('\nGET\n')) return undefined
    const entry = this.#cache.get(key)
    // lru-cache keeps an entry while its age is at most the TTL; an answer is kept *for* the TTL.
    if (entry !== undefined && this.o.clock.now() - entry.at >= this.o.cacheTtlMs) {
      this.#cache.delete(key)
      return undefined
    }
    return entry
  }

  /**
   * The answer of a request already on its way for `key` (undefined: it could not be shared, send
   * your own), or undefined when there is none to wait for.
   */
  join(key: string): Promise<Captured | undefined> | undefined {
    if (!this.o.coalesce) return undefined
    const flight = this.#inFlight.get(key)
    if (flight === undefined) return undefined
    return new Promise((resolve) => flight.waiters.push(resolve))
  }

  /**
   * Becomes the request others with `key` wait for. Returns the tap to give the forwarder and
   * `done`, to call once the forward is over whatever its outcome.
   */
  lead(key: string, callerId: string): { tap: ResponseTap; done: () => void } {
    const flight: InFlight = { waiters: [] }
    if (this.o.coalesce) this.#inFlight.set(key, flight)
    const generation = this.#generation.get(callerId) ?? 0
    const cacheOn = this.#cache !== undefined && key.includes('\nGET\n')
    let head: Omit<Captured, 'body' | 'at'> | undefined
    const chunks: Buffer[] = []
    let size = 0
    let result: Captured | undefined
    let over = false
    const release = (captured: Captured | undefined) => {
      if (this.#inFlight.get(key) === flight) this.#inFlight.delete(key)
      for (const waiter of flight.waiters.splice(0)) waiter(captured)
    }
    const tap: ResponseTap = {
      head: (status, reason, headers) => {
        head = { status, reason, headers }
      },
      chunk: (data) => {
        if (over) return
        size += data.length
        if (size > SHARE_LIMIT_BYTES) {
          // Too big to copy: the waiters go now, each with a request of its own.
          over = true
          chunks.length = 0
          release(undefined)
          return
        }
        chunks.push(data)
      },
      end: (complete) => {
        if (over || head === undefined || !complete || result !== undefined) return
        // The chunks are the caller's own buffers, kept by reference; they are copied into one
        // only when someone waits or the cache may keep it.
        if (flight.waiters.length === 0 && !cacheOn) return
        result = { ...head, body: Buffer.concat(chunks), at: this.o.clock.now() }
      },
    }
    return {
      tap,
      done: () => {
        release(result)
        if (result !== undefined && this.#cacheable(key, result) && (this.#generation.get(callerId) ?? 0) === generation) this.#cache?.set(key, result)
      },
    }
  }

  /**
   * A write by `callerId` to `upstreamPath`: the caller's cached answers about that stack (and the
   * stack list) go, and so do the requests in flight others would join. Called before the write
   * is sent and again after it is answered.
   */
  invalidate(callerId: string, upstreamPath: string): void {
    if (!this.enabled) return
    this.#generation.set(callerId, (this.#generation.get(callerId) ?? 0) + 1)
    if (this.#generation.size > 100_000) this.#generation.delete(this.#generation.keys().next().value as string)
    const stack = /^\/api\/3\/stacks\/([^/.?]+)/.exec(upstreamPath)?.[1]
    const affected = (key: string): boolean => {
      if (!key.startsWith(`${callerId}\n`)) return false
      if (stack === undefined) return true
      const path = key.split('\n', 4)[3] ?? ''
      return path.startsWith(`/api/3/stacks/${stack}`)
        ? /^[/.?]?$/.test(path.charAt(`/api/3/stacks/${stack}`.length))
        : /^\/api\/3\/stacks(\.json)?(\?|$)/.test(path)
    }
    for (const key of this.#inFlight.keys()) if (affected(key)) this.#inFlight.delete(key)
    if (this.#cache !== undefined) for (const key of [...this.#cache.keys()]) if (affected(key)) this.#cache.delete(key)
  }

  #cacheable(key: string, c: Captured): boolean {
    if (this.#cache === undefined || c.status !== 200 || !key.includes('\nGET\n')) return false
    for (let i = 0; i < c.headers.length; i += 2) {
      const name = (c.headers[i] ?? '').toLowerCase()
      const value = c.headers[i + 1] ?? ''
      if (name === 'cache-control' && /no-store|no-cache/i.test(value)) return false
      if (name === 'vary' && value.trim() === '*') return false
    }
    return true
  }

  /** Answers `res` with a copy: the first caller's headers, the body's own length, and for the cache its age. */
  answer(res: ServerResponse, method: string, c: Captured, how: 'coalesced' | 'cache'): ForwardResult {
    if (res.destroyed) return { status: c.status, bytesOut: undefined, outcome: 'client_gone', shared: how }
    this.o.saved(how)
    const headers: string[] = []
    for (let i = 0; i < c.headers.length; i += 2) {
      const name = c.headers[i] ?? ''
      const lower = name.toLowerCase()
      // A HEAD's own Content-Length is the GET's: kept. A GET's copy is framed by its real length.
      if (method === 'GET' && (lower === 'content-length' || lower === 'transfer-encoding')) continue
      if (how === 'cache' && lower === 'age') continue
      headers.push(name, c.headers[i + 1] ?? '')
    }
    const bodiless = method === 'HEAD' || c.status === 204 || c.status === 304
    if (method === 'GET' && !bodiless) headers.push('Content-Length', String(c.body.length))
    if (how === 'cache') headers.push('Age', String(Math.max(0, Math.floor((this.o.clock.now() - c.at) / 1000))), 'X-C66-Proxy-Cache', 'hit')
    res.writeHead(c.status, c.reason, headers)
    if (bodiless) res.end()
    else res.end(c.body)
    return { status: c.status, bytesOut: bodiless ? 0 : c.body.length, outcome: 'ok', shared: how }
  }
}
