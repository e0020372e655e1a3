import type { IncomingMessage } from 'node:http'
import type { ProxyError } from '../errors.js'
import { refuse } from '../refusals.js'

/**
 * How fast a request body must arrive (the model of Apache's mod_reqtimeout `body=…,MinRate=…`):
 * within `timeoutMs` of the request, plus one second for every `minRate` bytes received. A steady
 * upload of any size keeps earning time; a body that trickles (one byte every 25 s, to hold an
 * upstream connection) is cut once its allowance runs out, whatever its idle gaps.
 */
export interface BodyPace {
  readonly timeoutMs: number
  readonly minRate: number
}

/**
 * Calls `onExpire` once when `req`'s body falls behind `pace`; returns a function that stops
 * watching (it also stops by itself when the body ends). Progress is read from the socket's byte
 * count when the timer fires, so watching costs one timer and no per-chunk work.
 */
export function watchPace(req: IncomingMessage, pace: BodyPace, onExpire: () => void): () => void {
  const socket = req.socket
  const started = Date.now()
  const base = socket.bytesRead
  let timer: NodeJS.Timeout | undefined
  const check = () => {
    const earnedMs = ((socket.bytesRead - base) / pace.minRate) * 1000
    const left = started + pace.timeoutMs + earnedMs - Date.now()
    if (left <= 0) {
      stop()
      onExpire()
    } else timer = setTimeout(check, Math.max(left, 250))
  }
  const stop = () => {
    clearTimeout(timer)
    req.off('end', stop)
    req.off('close', stop)
  }
  timer = setTimeout(check, pace.timeoutMs)
  req.once('end', stop)
  req.once('close', stop)
  return stop
}

export interface ReadLimits {
  /** The most bytes read; more is refused with `tooLarge()`. */
  readonly limit: number
  readonly tooLarge: () => ProxyError
  readonly pace: BodyPace
}

/**
 * Reads a whole body of any framing (Content-Length or chunked) into memory, as long as it is no
 * bigger than the limit (a bigger one is refused as soon as that is known: from its
 * Content-Length, or when the bytes read pass the limit; the rest is never read) and arrives at
 * the pace asked for (408 otherwise).
 */
export function readWhole(req: IncomingMessage, limits: ReadLimits): Promise<Buffer> {
  const declared = req.headers['content-length']
  if (declared !== undefined && Number(declared) > limits.limit) return Promise.reject(limits.tooLarge())
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let settled = false
    const fail = (err: ProxyError) => {
      if (settled) return
      settled = true
      stopPace()
      req.off('data', onData)
      req.pause()
      reject(err)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > limits.limit) return fail(limits.tooLarge())
      chunks.push(chunk)
    }
    const stopPace = watchPace(req, limits.pace, () => fail(refuse.bodyTimeout()))
    req.on('data', onData)
    req.once('end', () => {
      if (settled) return
      settled = true
      stopPace()
      resolve(Buffer.concat(chunks, size))
    })
    req.once('error', () => fail(refuse.bodyEndedEarly()))
    req.once('close', () => {
      if (!req.complete) fail(refuse.bodyEndedEarly())
    })
  })
}

/** A body of known, small length (buffered for a replay after a 401). */
export function readBody(req: IncomingMessage, length: number, pace: BodyPace): Promise<Buffer> {
  return readWhole(req, { limit: length, pace, tooLarge: refuse.bodyLongerThanDeclared })
}

/** A body a parameter rule must read, up to `limit` bytes (413 beyond). */
export function readBodyUpTo(req: IncomingMessage, limit: number, pace: BodyPace): Promise<Buffer> {
  return readWhole(req, {
    limit,
    pace,
    tooLarge: () => refuse.bodyTooLarge(`The request body is larger than the ${limit} bytes the proxy reads to check it against the parameter rules`),
  })
}
