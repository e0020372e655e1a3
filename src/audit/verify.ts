import type { AuditKeys } from './audit-key.js'
import { MAX_LINE_BYTES, readLines } from './lines.js'
import { parseRecord, type AuditRecord } from './record.js'

export type VerifyResult =
  | { readonly ok: true; readonly lines: number; readonly replicas: Record<string, number> }
  | { readonly ok: false; readonly line: number; readonly reason: string }

interface Chain {
  readonly seq: number
  readonly mac: string
  readonly lines: number
}

/**
 * Checks an audit log line by line, streaming (memory stays bounded whatever the file's size).
 * Every line must be a canonical version 2 record whose MAC is right under the key its `kid`
 * names (a key derived from the secret, or from one of the previous secrets, in `keys`), and
 * within each replica's chain seq must go up by one with prev equal to the previous record's MAC;
 * a replica's first line must be seq 1 with prev null. A later seq-1 line with prev null is
 * accepted as a restart (a gateway writing to standard output starts a new chain each time it
 * starts, and so does a writer that found no line it could verify at the end of its chain).
 *
 * `line` is the 1-based number of the first line that fails: an edited or forged line itself, or,
 * after a deleted line, the next line of the same replica (the chains of other replicas cannot see
 * a gap in this one).
 *
 * What it proves: without the secret nobody can write a line that verifies, so edits, insertions
 * (forged lines, a forged first line for a real replica, a whole forged chain of a made-up
 * replica, a line copied from a log written under another secret), deletions inside a chain and
 * reordering are all caught. What it cannot prove, because every remaining line is still genuine:
 * - lines removed from the end of a chain (truncation), or the whole chain of a replica removed;
 * - lines removed just before a restart (the restart's seq 1 / prev null hides the gap);
 * - genuine lines from another log file written under the same secret, spliced in as a whole
 *   chain (or a restart) where a chain ends.
 * An operator detects these by shipping lines off the machine as they are written (`--audit-log -`
 * into a log collector) or keeping the file on append-only storage, and comparing each replica's
 * last seq (and line count) with what was shipped. Anyone holding the secret can forge lines.
 */
export async function verifyAuditFile(path: string, keys: AuditKeys): Promise<VerifyResult> {
  const chains = new Map<string, Chain>()
  let number = 0
  for await (const line of readLines(path)) {
    number += 1
    const broken = (reason: string): VerifyResult => ({ ok: false, line: number, reason })
    if (line.kind === 'too-long') return broken(`line is longer than ${MAX_LINE_BYTES} bytes`)
    if (line.text === '') return broken('empty line')
    const parsed = parseRecord(line.text, keys)
    if ('reason' in parsed) return broken(line.terminated ? parsed.reason : `${parsed.reason}; the file ends mid-line (cut short)`)
    if (!line.terminated) return broken('the last line has no newline (the file was cut short)')
    const { record } = parsed
    const problem = chainProblem(chains.get(record.replica), record)
    if (problem !== undefined) return broken(problem)
    const lines = (chains.get(record.replica)?.lines ?? 0) + 1
    chains.set(record.replica, { seq: record.seq, mac: record.mac, lines })
  }
  return { ok: true, lines: number, replicas: Object.fromEntries([...chains].map(([replica, c]) => [replica, c.lines])) }
}

/** Why `record` cannot follow `chain` (its replica's chain so far, if any), or undefined if it can. */
function chainProblem(chain: Chain | undefined, record: AuditRecord): string | undefined {
  const who = `replica ${JSON.stringify(record.replica)}`
  if (chain === undefined) {
    if (record.seq !== 1) return `${who} starts at seq ${record.seq}: its earlier lines are missing`
    if (record.prev !== null) return `${who} starts with a prev MAC: its earlier lines are missing`
    return undefined
  }
  // A new chain for the same replica: a restart when writing to standard output.
  if (record.seq === 1 && record.prev === null) return undefined
  if (record.seq !== chain.seq + 1) {
    return `${who}: expected seq ${chain.seq + 1} after seq ${chain.seq}, found seq ${record.seq} (a line is missing or out of order)`
  }
  if (record.prev !== chain.mac) return `${who}: prev does not match the MAC of seq ${chain.seq} (a line before it was replaced)`
  return undefined
}
