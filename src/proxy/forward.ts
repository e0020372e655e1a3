import http, { type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http'
import https from 'node:https'
import { Readable } from 'node:stream'
import { parse as parseLegacyUrl } from 'node:url'
import httpProxy from 'http-proxy'
import type { Config } from '../config/types.js'
import type { ProxyError } from '../errors.js'
import type { Logger } from '../log.js'
import type { Metrics } from '../metrics.js'
import type { Secret } from '../secret.js'
import { Deadlines } from './deadlines.js'
import { filterResponseHeaders } from './headers.js'
import { watchPace } from '../http/body.js'
import {
  BODY_TIMEOUT,
  CONNECT_TIMEOUT,
  IDLE_TIMEOUT,
  RESPONSE_TIMEOUT,
  classifyUpstreamError,
  timeoutError,
} from './upstream-errors.js'

/** One request to forward. */
export interface ForwardJob {
  readonly upstreamPath: string
  readonly token: Secret
  /** The whole request body when it was small enough to buffer; undefined streams `req` instead. */
  readonly body: Buffer | undefined
  /** True when the body is buffered or absent, so the request can be sent a second time. */
  readonly replayable: boolean
  /** The proxy's own origin as the caller sees it, for `Location` rewriting. */
  readonly publicOrigin: string
  /** Asked on an upstream 401 of a replayable request: a different token to retry with, or undefined. */
  readonly onUnauthorized: (current: Secret) => Promise<Secret | undefined>
}

export interface ForwardResult {
  readonly status: number
  /** Body bytes sent to the caller; undefined when not counted (a small response cut short). */
  readonly bytesOut: number | undefined
  /** ok, or why the response did not complete: the client left, or the upstream broke off. */
  readonly outcome: 'ok' | 'client_gone' | 'upstream_broken'
}

export interface Forwarder {
  /** Settles when the response is over: resolves once it was started, rejects with a ProxyError before that. */
  forward(req: IncomingMessage, res: ServerResponse, job: ForwardJob): Promise<ForwardResult>
  close(): void
}

interface Flight {
  readonly job: ForwardJob
  readonly res: ServerResponse
  readonly resolve: (r: ForwardResult) => void
  readonly reject: (e: ProxyError) => void
  token: Secret
  attempt: number
  proxyReq: ClientRequest | undefined
  /** Set when the caller no longer wants an answer (gone, or already answered with an error). */
  abandoned: boolean
  /** Set when the upstream's response headers arrived. */
  answered: boolean
  settled: boolean
  upstreamBroken: boolean
  bytesOut: number
  /** Set instead of counting bytesOut for a small body of known length. */
  declaredBytes: number | undefined
  /** A streamed upload's idle timer. */
  timer: NodeJS.Timeout | undefined
  /** When the response timeout runs out (Deadlines). */
  deadlineAt: number
}

const FLIGHT = Symbol('c66-proxy.flight')
/** Responses up to this size with a Content-Length get no idle timer of their own. */
const SMALL_BODY_BYTES = 64 * 1024
type FlightRequest = IncomingMessage & { [FLIGHT]?: Flight }

/**
 * The forwarding layer: http-proxy with a keep-alive pool, built once. The proxy handles the
 * response itself (`selfHandleResponse`) so it can drop cookies, rewrite `Location`, replay once
 * after a 401, and destroy the client connection when the upstream breaks off mid-body. It also
 * aborts the upstream request as soon as the client goes away, which http-proxy stopped doing on
 * Node ≥ 15.5 (http-party/node-http-proxy#1559).
 */
export function createForwarder(config: Config, metrics: Metrics, log: Logger): Forwarder {
  const upstream = config.upstream
  const throttledAs429 = config.mode === 'gateway'
  const secure = upstream.protocol === 'https:'
  const agentOptions = { keepAlive: true, maxSockets: config.upstreamMaxSockets, scheduling: 'lifo' as const }
  const agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions)
  const proxy = httpProxy.createProxyServer({
    // Parsed once here: http-proxy re-parses a string target on every request.
    target: parseLegacyUrl(upstream.origin) as unknown as httpProxy.ServerOptions['target'],
    agent,
    changeOrigin: true,
    secure: true,
    xfwd: false,
    selfHandleResponse: true,
    // req.url is set to the exact upstream path; toProxy stops http-proxy from url.parse()-ing
    // (and so re-encoding) it, prependPath keeps the target's "/" from being joined in front.
    toProxy: true,
    prependPath: false,
  })
  // Keep only the 'stream' pass: 'deleteLength' would turn a chunked DELETE body into nothing,
  // and 'timeout'/'XHeaders' are unused. Fewer passes is also less work per request.
  const server = proxy as unknown as { webPasses: Array<{ name: string }> }
  server.webPasses = server.webPasses.filter((pass) => pass.name === 'stream')

  const countError = (reason: string) => metrics.upstreamErrors.inc({ reason })
  const pace = { timeoutMs: config.requestBodyTimeoutMs, minRate: config.minUploadRate }
  // The response timeout: from the request sent (a streamed body: fully sent) to the headers.
  const awaitingResponse = new Deadlines<Flight>(config.responseTimeoutMs, (flight) => {
    if (flight.proxyReq) flight.proxyReq.destroy(timeoutError(RESPONSE_TIMEOUT))
    else fail(flight, timeoutError(RESPONSE_TIMEOUT)) // still waiting for a pooled socket
  })

  proxy.on('proxyReq', (proxyReq: ClientRequest, req: IncomingMessage, res: ServerResponse) => {
    const flight = (req as FlightRequest)[FLIGHT]
    if (!flight) return
    flight.proxyReq = proxyReq
    if (flight.abandoned || res.destroyed) {
      proxyReq.destroy()
      return
    }
    if (!flight.job.replayable) {
      // The response timeout measures how long Cloud 66 takes to answer, not how long the caller
      // takes to upload: a streamed body (a 1 GB upload may take minutes) starts it once sent.
      // Until then only a stalled upload is cut, by the idle timeout, as stalled downloads are.
      awaitingResponse.disarm(flight)
      const idle = setTimeout(() => proxyReq.destroy(timeoutError(IDLE_TIMEOUT)), config.idleTimeoutMs)
      flight.timer = idle
      const onData = () => idle.refresh()
      // The idle timer alone lets a body that sends a byte every minute hold a pooled connection
      // for ever; the pace watch cuts any body that falls behind its allowance (408).
      const stopPace = watchPace(req, pace, () => proxyReq.destroy(timeoutError(BODY_TIMEOUT)))
      const stop = () => {
        req.off('data', onData)
        clearTimeout(idle)
        stopPace()
      }
      req.on('data', onData)
      proxyReq.once('close', stop)
      proxyReq.once('finish', () => {
        stop()
        if (!flight.answered && !flight.abandoned) awaitingResponse.arm(flight)
      })
    }
    const socket = proxyReq.socket
    if (socket?.connecting) {
      const connectTimer = setTimeout(() => proxyReq.destroy(timeoutError(CONNECT_TIMEOUT)), config.connectTimeoutMs)
      socket.once('connect', () => clearTimeout(connectTimer))
      proxyReq.once('close', () => clearTimeout(connectTimer))
    }
  })

  proxy.on('proxyRes', (proxyRes: IncomingMessage, req: IncomingMessage, res: ServerResponse) => {
    const flight = (req as FlightRequest)[FLIGHT]
    if (!flight) return
    flight.answered = true
    awaitingResponse.disarm(flight)
    if (flight.abandoned) {
      proxyRes.resume()
      return
    }
    if (proxyRes.statusCode === 401 && flight.attempt === 1 && flight.job.replayable) {
      void retryAfterUnauthorized(flight, proxyRes, req, res)
      return
    }
    if (proxyRes.statusCode === 401) {
      // Not replayable (a streamed body): this answer stands, but the next request should not
      // meet the same dead token, so the token is still refreshed or re-read in the background.
      if (flight.attempt === 1) void flight.job.onUnauthorized(flight.token).catch(() => undefined)
      passUnauthorized(flight, proxyRes, res)
      return
    }
    respond(flight, proxyRes, res)
  })

  /** Cloud 66's 401 goes through untouched, plus a header saying how to recover. */
  function passUnauthorized(flight: Flight, proxyRes: IncomingMessage, res: ServerResponse) {
    metrics.retries.inc({ action: 'passed_through' })
    if (!res.headersSent) res.setHeader('X-C66-Proxy-Hint', unauthorizedHint(flight.job.publicOrigin, config.oauth.clientId !== undefined))
    respond(flight, proxyRes, res)
  }

  async function retryAfterUnauthorized(flight: Flight, proxyRes: IncomingMessage, req: IncomingMessage, res: ServerResponse) {
    let next: Secret | undefined
    try {
      next = await flight.job.onUnauthorized(flight.token)
    } catch (err) {
      log.warn({ err_code: (err as NodeJS.ErrnoException).code }, 'token re-read after 401 failed')
    }
    if (next === undefined || next.equals(flight.token) || flight.abandoned || res.destroyed) {
      passUnauthorized(flight, proxyRes, res)
      return
    }
    metrics.retries.inc({ action: 'replayed' })
    proxyRes.resume() // drain the 401 so its socket goes back to the pool
    flight.answered = false
    flight.token = next
    send(flight, req, res)
  }

  function respond(flight: Flight, proxyRes: IncomingMessage, res: ServerResponse) {
    if (res.destroyed) {
      proxyRes.resume()
      return
    }
    const status = proxyRes.statusCode ?? 502
    if (status === 503) metrics.throttled.inc()
    if (status === 503 && throttledAs429) {
      void respondThrottled(flight, proxyRes, res)
      return
    }
    const { headers, contentLength } = filterResponseHeaders(proxyRes.rawHeaders, upstream.origin, flight.job.publicOrigin)
    res.writeHead(status, proxyRes.statusMessage, headers)
    // A stalled transfer is cut after idleTimeout. The socket's own inactivity timer does it: Node
    // re-arms it on every read and write, where a JS timer refreshed per chunk cost ~5 % of the
    // streaming CPU (bench profile). Node clears it when the socket goes back to the pool.
    // A small body with a known length arrives with (or right after) its headers: arming and
    // disarming a socket timer for it was measurable per-request work (bench profile), so only
    // bodies that can stall for long get one.
    const small = contentLength !== undefined && contentLength <= SMALL_BODY_BYTES
    if (small) {
      // A small body of known length is all there, or (the caller or upstream gone) counted as
      // unknown: no byte counting. It is passed on without pipe(): pipe's set-up and tear-down
      // of eight listeners cost ~4 µs per request (bench profile), and its backpressure has
      // nothing to hold back at this size. A caller that leaves destroys proxyReq, which ends this.
      flight.declaredBytes = res.req.method === 'HEAD' || status === 204 || status === 304 ? 0 : contentLength
      proxyRes.on('data', (chunk: Buffer) => res.write(chunk))
      proxyRes.once('end', () => res.end())
    } else {
      const proxyReq = flight.proxyReq
      proxyReq?.setTimeout(config.idleTimeoutMs, () => proxyReq.destroy(timeoutError(IDLE_TIMEOUT)))
      proxyRes.on('data', (chunk: Buffer) => {
        flight.bytesOut += chunk.length
      })
      proxyRes.pipe(res)
    }
    proxyRes.once('close', () => {
      // The upstream broke off: destroying the client connection is the only honest signal
      // left once headers are out (a clean end would make a truncated body look complete).
      if (!proxyRes.complete && !res.destroyed) {
        flight.upstreamBroken = true
        countError('broken_body')
        res.destroy()
      }
    })
  }

  /**
   * Gateway mode: Cloud 66's `503 throttled` (its per-user hourly budget) reaches the caller as
   * 429 with a Retry-After until the next hourly interval, so clients back off instead of
   * treating it as an outage. The (small) body is read to tell throttling from other 503s.
   */
  async function respondThrottled(flight: Flight, proxyRes: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = []
    let size = 0
    try {
      for await (const chunk of proxyRes as AsyncIterable<Buffer>) {
        size += chunk.length
        if (size > 65_536) throw new Error('503 body too large to inspect')
        chunks.push(chunk)
      }
    } catch {
      if (!res.destroyed) res.destroy()
      return
    }
    if (res.destroyed) return
    const body = Buffer.concat(chunks)
    const throttled = /throttled/i.test(body.toString('utf8'))
    const headers = filterResponseHeaders(proxyRes.rawHeaders, upstream.origin, flight.job.publicOrigin).headers.filter((_v, i, all) => {
      const name = (i % 2 === 0 ? all[i] : all[i - 1]) ?? ''
      return !/^(content-length|retry-after)$/i.test(name)
    })
    if (throttled) headers.push('Retry-After', String(secondsToNextHour()))
    headers.push('Content-Length', String(body.length))
    flight.bytesOut += body.length
    res.writeHead(throttled ? 429 : 503, throttled ? 'Too Many Requests' : proxyRes.statusMessage, headers)
    res.end(body)
  }

  function send(flight: Flight, req: IncomingMessage, res: ServerResponse) {
    flight.attempt += 1
    flight.proxyReq = undefined
    // Until a pooled socket is free this also bounds the wait for one; a streamed body restarts
    // the timeout once it is sent (the 'proxyReq' listener).
    awaitingResponse.arm(flight)
    const options: httpProxy.ServerOptions = { headers: { authorization: `Bearer ${flight.token.reveal()}` } }
    if (flight.job.body !== undefined) options.buffer = Readable.from([flight.job.body])
    proxy.web(req, res, options, (err: NodeJS.ErrnoException) => fail(flight, err))
  }

  function fail(flight: Flight, err: NodeJS.ErrnoException) {
    const res = flight.res
    clearTimeout(flight.timer)
    awaitingResponse.disarm(flight)
    if (flight.abandoned) return // the client left first: nothing to answer, nothing to count
    flight.abandoned = true
    flight.proxyReq?.destroy()
    const { error, reason } = classifyUpstreamError(err)
    // A caller's slow body is the caller's fault, not Cloud 66's.
    if (err.code === BODY_TIMEOUT) metrics.rejected.inc({ reason })
    else countError(reason)
    if (res.headersSent) {
      flight.upstreamBroken = true
      res.destroy()
      return
    }
    log.warn({ err_code: err.code, reason }, 'upstream request failed')
    settle(flight, () => flight.reject(error))
  }

  function settle(flight: Flight, fn: () => void) {
    if (flight.settled) return
    flight.settled = true
    fn()
  }

  return {
    forward(req, res, job) {
      return new Promise<ForwardResult>((resolve, reject) => {
        const flight: Flight = {
          job, res, resolve, reject, token: job.token, attempt: 0, proxyReq: undefined, abandoned: false, answered: false,
          settled: false, upstreamBroken: false, bytesOut: 0, declaredBytes: undefined, timer: undefined, deadlineAt: 0,
        }
        ;(req as FlightRequest)[FLIGHT] = flight
        req.url = job.upstreamPath
        res.once('close', () => {
          clearTimeout(flight.timer)
          awaitingResponse.disarm(flight)
          const complete = res.writableFinished
          if (!complete) {
            // The caller went away (or we destroyed the socket): stop the upstream at once.
            flight.abandoned = true
            flight.proxyReq?.destroy()
          }
          settle(flight, () =>
            resolve({
              status: res.statusCode,
              bytesOut: flight.declaredBytes === undefined ? flight.bytesOut : complete ? flight.declaredBytes : undefined,
              outcome: complete ? 'ok' : flight.upstreamBroken ? 'upstream_broken' : 'client_gone',
            }),
          )
        })
        send(flight, req, res)
      })
    },
    close() {
      awaitingResponse.close()
      proxy.close()
      agent.destroy()
    },
  }
}

/**
 * JSON in a header: the 401's body is Cloud 66's (often empty) and stays untouched. It names only
 * steps that work here: /-/login and `c66-proxy login` need OAuth configured (C66_CLIENT_ID).
 */
function unauthorizedHint(publicOrigin: string, loginConfigured: boolean): string {
  const step = loginConfigured
    ? `Log in again at ${publicOrigin}/-/login or with \`c66-proxy login\`, or replace the token (\`c66-proxy status\` shows where it comes from).`
    : 'Replace the token where it comes from (`c66-proxy status` shows which source; files are re-read without a restart), or store a new one with `c66-proxy token set`.'
  return JSON.stringify({ error: 'upstream_unauthorized', message: `Cloud 66 rejected the token (401) and no replacement was found. ${step}` })
}

/** Cloud 66 asks throttled clients to retry "in the next hourly interval". */
function secondsToNextHour(now = Date.now()): number {
  return Math.min(3_600, Math.max(1, Math.ceil((3_600_000 - (now % 3_600_000)) / 1000)))
}
