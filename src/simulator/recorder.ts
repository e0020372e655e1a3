// Records each request (see SimulatorRequestRecord) while reading its body exactly once.
// The recorder is the body's first reader: it keeps the first 1 MiB and counts the rest, so
// uploads of any size cost 1 MiB at most and a handler that ignores the body still drains it.
import type { IncomingMessage } from 'node:http'
import type { SimulatorRequestRecord } from './index.js'
import type { SimulatorState } from './state.js'

export const RECORDED_BODY_LIMIT = 1024 * 1024

export interface ReceivedBody {
  /** The first RECORDED_BODY_LIMIT bytes (the record's `body`). */
  readonly head: Buffer
  /** Total size of the body received. */
  readonly bytes: number
  /** True when `head` holds only part of the body. */
  readonly truncated: boolean
  /** False when the client went away before the body ended. */
  readonly complete: boolean
}

const EMPTY = Buffer.alloc(0)

/**
 * Starts reading `req` in flowing mode. A handler that streams the body itself (echo) must attach
 * its own reader synchronously, before data starts to flow on the next tick; it then sees every
 * chunk too, and its backpressure (pause/resume) applies to the recorder as well.
 */
export function startRecording(
  req: IncomingMessage,
  token: string | undefined,
  state: SimulatorState,
): { record: SimulatorRequestRecord; body: Promise<ReceivedBody> } {
  const record: SimulatorRequestRecord = {
    method: req.method ?? 'GET',
    url: req.url ?? '',
    headers: req.headers,
    rawHeaders: req.rawHeaders,
    body: EMPTY,
    bodyBytes: 0,
    token,
  }
  const body = new Promise<ReceivedBody>((resolve) => {
    let chunks: Buffer[] = []
    let kept = 0
    let settled = false
    const settle = (complete: boolean): void => {
      if (settled) return
      settled = true
      record.body = chunks.length === 1 ? chunks[0]! : chunks.length === 0 ? EMPTY : Buffer.concat(chunks, kept)
      chunks = []
      state.record(record)
      resolve({ head: record.body, bytes: record.bodyBytes, truncated: record.bodyBytes > kept, complete })
    }
    req.on('data', (chunk: Buffer) => {
      record.bodyBytes += chunk.length
      if (kept < RECORDED_BODY_LIMIT) {
        const room = RECORDED_BODY_LIMIT - kept
        const part = chunk.length <= room ? chunk : chunk.subarray(0, room)
        chunks.push(part)
        kept += part.length
      }
    })
    req.once('end', () => settle(true))
    // 'close' without 'end' means the client aborted mid-body (or before sending one).
    req.once('close', () => settle(req.complete))
  })
  return { record, body }
}
