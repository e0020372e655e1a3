import type { IncomingMessage } from 'node:http'
import { filterResponseHeaders } from '../headers.js'
import type { PassContext } from './context.js'
import type { Flight } from './flight.js'

/** A throttling answer is a few hundred bytes; anything past this is not one, and not read further. */
const MAX_INSPECTED_BYTES = 65_536

/**
 * Cloud 66's `503 throttled` (its per-user hourly budget) reaches the caller as 429 with a
 * Retry-After until the next hourly interval, so clients back off instead of treating it as an
 * outage, and the budget holds that identity's next requests (budget-book.ts). The (small) body
 * is read to tell throttling from other 503s.
 */
export async function respondThrottled(ctx: PassContext, flight: Flight, proxyRes: IncomingMessage): Promise<void> {
  const res = flight.res
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of proxyRes as AsyncIterable<Buffer>) {
      size += chunk.length
      if (size > MAX_INSPECTED_BYTES) throw new Error('503 body too large to inspect')
      chunks.push(chunk)
    }
  } catch {
    if (!res.destroyed) res.destroy()
    return
  }
  if (res.destroyed) return
  const body = Buffer.concat(chunks)
  const throttled = /throttled/i.test(body.toString('utf8'))
  if (throttled) flight.job.meter?.throttled()
  const headers = filterResponseHeaders(proxyRes.rawHeaders, ctx.upstreamOrigin, flight.job.publicOrigin).headers.filter((_v, i, all) => {
    const name = (i % 2 === 0 ? all[i] : all[i - 1]) ?? ''
    return !/^(content-length|retry-after)$/i.test(name)
  })
  if (throttled) headers.push('Retry-After', String(secondsToNextHour()))
  headers.push('Content-Length', String(body.length))
  flight.bytesOut += body.length
  res.writeHead(throttled ? 429 : 503, throttled ? 'Too Many Requests' : proxyRes.statusMessage, headers)
  res.end(body)
}

/** Cloud 66 asks throttled clients to retry "in the next hourly interval". */
export function secondsToNextHour(now = Date.now()): number {
  return Math.min(3_600, Math.max(1, Math.ceil((3_600_000 - (now % 3_600_000)) / 1000)))
}
