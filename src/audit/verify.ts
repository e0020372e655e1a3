import { MAX_LINE_BYTES, readLines } from './lines.js'
import { parseRecord } from './record.js'

export type VerifyResult =
  | { readonly ok: true; readonly lines: number; readonly replicas: Record<string, number> }
  | { readonly ok: false; readonly line: number; readonly reason: string }

/**
 * Checks an audit log line by line, streaming (memory stays bounded whatever the file's size).
 * Every line must be a canonical record whose hash matches its content, and within each replica's
 * chain seq must go up by one with prev equal to the previous record's hash; a replica's first
 * line must be seq 1 with prev null. A later seq-1 line with prev null is accepted as a restart
 * (a gateway writing to standard output starts a new chain each time it starts).
 *
 * `line` is the 1-based number of the first line where the chain breaks: an edited or forged line
 * itself, or, after a deleted line, the next line of the same replica (the chains of other
 * replicas cannot see a gap in this one). Known limits of an unkeyed chain: deleting lines at the
 * very end of the file, or a whole chain, is not detectable, and someone able to rewrite the file
 * can recompute every hash after the lines they change.
 */
export async function verifyAuditFile(path: string): Promise<VerifyResult> {
  const chains = new Map<string, { seq: number; hash: string; lines: number }>()
  let number = 0
  for await (const line of readLines(path)) {
    number += 1
    const broken = (reason: string): VerifyResult => ({ ok: false, line: number, reason })
    if (line.kind === 'too-long') return broken(`line is longer than ${MAX_LINE_BYTES} bytes`)
    if (line.text === '') return broken('empty line')
    const parsed = parseRecord(line.text)
    if ('reason' in parsed) return broken(line.terminated ? parsed.reason : `${parsed.reason}; the file ends mid-line (cut short)`)
    if (!line.terminated) return broken('the last line has no newline (the file was cut short)')
    const { record } = parsed
    const who = `replica ${JSON.stringify(record.replica)}`
    const chain = chains.get(record.replica)
    if (chain === undefined) {
      if (record.seq !== 1) return broken(`${who} starts at seq ${record.seq}: its earlier lines are missing`)
      if (record.prev !== null) return broken(`${who} starts with a prev hash: its earlier lines are missing`)
      chains.set(record.replica, { seq: 1, hash: record.hash, lines: 1 })
      continue
    }
    if (record.seq === 1 && record.prev === null) {
      // A new chain for the same replica: a restart when writing to standard output.
    } else if (record.seq !== chain.seq + 1) {
      return broken(`${who}: expected seq ${chain.seq + 1} after seq ${chain.seq}, found seq ${record.seq} (a line is missing or out of order)`)
    } else if (record.prev !== chain.hash) {
      return broken(`${who}: prev does not match the hash of seq ${chain.seq} (a line before it was replaced)`)
    }
    chains.set(record.replica, { seq: record.seq, hash: record.hash, lines: chain.lines + 1 })
  }
  return { ok: true, lines: number, replicas: Object.fromEntries([...chains].map(([replica, c]) => [replica, c.lines])) }
}
