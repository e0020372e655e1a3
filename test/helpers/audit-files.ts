import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ExecutionContext } from 'ava'
import { AuditLog, type AuditLogOptions } from '../../src/audit/audit-log.js'
import type { AuditEntry } from '../../src/audit/record.js'
import type { Clock } from '../../src/clock.js'

/** A clock the test moves: starts at 2026-01-02T03:04:05.000Z, one second per reading. */
export function steppingClock(start = Date.parse('2026-01-02T03:04:05.000Z'), stepMs = 1_000): Clock {
  let now = start - stepMs
  return { now: () => (now += stepMs) }
}

/** A scratch directory removed when the test ends. */
export function tempDir(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'c66-audit-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** A plausible mutating request, numbered so every record differs. */
export function entry(n: number, overrides: Partial<AuditEntry> = {}): AuditEntry {
  return {
    member: `cloud66:${1000 + (n % 3)}`,
    key_label: `ci-${n % 2}`,
    key_id: `k${n % 2}`,
    method: n % 2 === 0 ? 'POST' : 'DELETE',
    route: '/stacks/:stack_id/deployments',
    stack_id: `stack-${n % 4}`,
    status: 200,
    duration_ms: 10 + n,
    request_id: `req-${n}`,
    ...overrides,
  }
}

/** Opens an AuditLog that is closed when the test ends; errors are collected in `errors`. */
export async function openLog(t: ExecutionContext, options: Omit<AuditLogOptions, 'clock'> & { clock?: Clock }): Promise<{ log: AuditLog; errors: Error[] }> {
  const errors: Error[] = []
  const log = await AuditLog.open({ clock: steppingClock(), onError: (err) => errors.push(err), ...options })
  t.teardown(() => log.close())
  return { log, errors }
}

/** The file's lines, without the final newline. */
export function readLines(path: string): string[] {
  const text = readFileSync(path, 'utf8')
  return (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n')
}

/** Replaces the file with these lines, each ending in a newline. */
export function writeLines(path: string, lines: readonly string[]): void {
  writeFileSync(path, lines.map((line) => `${line}\n`).join(''))
}

/** `replica:seq` for each line, to state a file's layout in one readable array. */
export function layout(path: string): string[] {
  return readLines(path).map((line) => {
    const record = JSON.parse(line) as { replica: string; seq: number }
    return `${record.replica}:${record.seq}`
  })
}

/**
 * The standard two-replica file: replicas `a` and `b` append to one path through two AuditLog
 * instances, interleaved; both are closed, reopened (continuing their chains) and write again.
 * Each write is flushed before the next so the interleaving is the one listed here.
 */
export const TWO_REPLICA_LAYOUT = ['a:1', 'b:1', 'a:2', 'a:3', 'b:2', 'a:4', 'b:3', 'b:4', 'b:5', 'a:5', 'a:6', 'b:6']

export async function writeTwoReplicaLog(t: ExecutionContext, path: string): Promise<void> {
  const clock = steppingClock()
  let n = 0
  const run = async (order: string) => {
    const logs = {
      a: await AuditLog.open({ destination: path, replica: 'a', clock, onError: (err) => t.fail(err.message) }),
      b: await AuditLog.open({ destination: path, replica: 'b', clock, onError: (err) => t.fail(err.message) }),
    }
    t.teardown(async () => (await logs.a.close(), await logs.b.close()))
    for (const replica of order) {
      const log = replica === 'a' ? logs.a : logs.b
      log.write(entry((n += 1)))
      await log.flush()
    }
    await logs.a.close()
    await logs.b.close()
  }
  await run('abaababb')
  await run('baab')
}

/**
 * What a forger who knows the format computes after changing a parsed line: the SHA-256 of the
 * record without its hash, in the line's own field order. Returns the re-serialised line.
 */
export function reforge(line: string, change: (record: Record<string, unknown>) => void): string {
  const record = JSON.parse(line) as Record<string, unknown>
  change(record)
  delete record['hash']
  const hash = createHash('sha256').update(JSON.stringify(record)).digest('hex')
  return JSON.stringify({ ...record, hash })
}
