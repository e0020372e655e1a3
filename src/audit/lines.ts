import { createReadStream } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'

/**
 * No record comes near this (a record is a few hundred bytes); a longer line is damage or an
 * attack, and stopping at this size keeps both readers' memory bounded whatever the file holds.
 */
export const MAX_LINE_BYTES = 1024 * 1024

const BLOCK = 64 * 1024
const NEWLINE = 0x0a

export type ForwardLine = { readonly kind: 'line'; readonly text: string; readonly terminated: boolean } | { readonly kind: 'too-long' }

/**
 * The file's lines, first to last, read in 64 KiB blocks. Not readline: readline buffers a line
 * until its newline arrives, so one unterminated gigabyte would be held in memory whole; here a
 * line past MAX_LINE_BYTES is reported as `too-long` and skipped without being kept.
 * `terminated` is false only for a last line with no newline after it (a cut file).
 */
export async function* readLines(path: string): AsyncGenerator<ForwardLine> {
  let parts: Buffer[] = []
  let size = 0
  let skipping = false
  for await (const chunk of createReadStream(path, { highWaterMark: BLOCK }) as AsyncIterable<Buffer>) {
    let start = 0
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, start)
      const end = nl === -1 ? chunk.length : nl
      if (!skipping) {
        if (size + (end - start) > MAX_LINE_BYTES) {
          skipping = true
          parts = []
          size = 0
          yield { kind: 'too-long' }
        } else {
          parts.push(chunk.subarray(start, end))
          size += end - start
        }
      }
      if (nl === -1) break
      if (!skipping) yield { kind: 'line', text: Buffer.concat(parts, size).toString('utf8'), terminated: true }
      skipping = false
      parts = []
      size = 0
      start = nl + 1
    }
  }
  if (!skipping && size > 0) yield { kind: 'line', text: Buffer.concat(parts, size).toString('utf8'), terminated: false }
}

/**
 * The file's lines, last to first, read backwards from `size` in 64 KiB blocks so that finding
 * the end of a chain never loads the whole file. Yields undefined for a line longer than
 * MAX_LINE_BYTES. The text after the last newline (empty for a well-formed file) comes first.
 */
export async function* linesBackwards(handle: FileHandle, size: number): AsyncGenerator<Buffer | undefined> {
  let carry: Buffer[] = [] // pieces of the line being assembled, rightmost first
  let carrySize = 0
  let overflow = false
  const take = (piece: Buffer) => {
    if (overflow) return
    if (carrySize + piece.length > MAX_LINE_BYTES) {
      overflow = true
      carry = []
      carrySize = 0
      return
    }
    carry.push(piece)
    carrySize += piece.length
  }
  const finish = (): Buffer | undefined => {
    const line = overflow ? undefined : Buffer.concat(carry.reverse(), carrySize)
    carry = []
    carrySize = 0
    overflow = false
    return line
  }
  let pos = size
  while (pos > 0) {
    const length = Math.min(BLOCK, pos)
    pos -= length
    const block = Buffer.alloc(length)
    let read = 0
    while (read < length) {
      const { bytesRead } = await handle.read(block, read, length - read, pos + read)
      if (bytesRead === 0) throw new Error('the audit log shrank while it was being read')
      read += bytesRead
    }
    let end = length
    for (let nl = block.lastIndexOf(NEWLINE, end - 1); nl !== -1; nl = end > 0 ? block.lastIndexOf(NEWLINE, end - 1) : -1) {
      take(block.subarray(nl + 1, end))
      yield finish()
      end = nl
    }
    take(block.subarray(0, end))
  }
  yield finish()
}
