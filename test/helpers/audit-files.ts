import { createHash, createHmac } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ExecutionContext } from 'ava'
import { auditKeysFromSecrets, type AuditKey, type AuditKeys } from '../../src/audit/audit-key.js'
import { AuditLog, type AuditLogOptions } from '../../src/audit/audit-log.js'
import { serialize, toRecord, type AuditEntry, type ChainHead } from '../../src/audit/record.js'
import type { Clock } from '../../src/clock.js'
import { cleanEnv } from './cli.js'
import { FakeClock } from './fake-clock.js'

/** The gateway secret the audit tests write and verify with (32 bytes, hex, as `secret generate` could print). */
export const TEST_SECRET = '5e1f0c2b9a8d7e6f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f'
/** Another gateway's secret: its lines must not verify under TEST_SECRET. */
export const OTHER_SECRET = 'a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1'

/** The audit keys derived from TEST_SECRET. */
export const testKeys: AuditKeys = auditKeysFromSecrets(Buffer.from(TEST_SECRET, 'hex'))
/** The audit keys derived from OTHER_SECRET. */
export const otherKeys: AuditKeys = auditKeysFromSecrets(Buffer.from(OTHER_SECRET, 'hex'))

/** A forger without the secret: names the real kid, but can only MAC under a key of their own. */
export const forgerKey: AuditKey = { kid: testKeys.current.kid, key: otherKeys.current.key }

/**
 * A well-formed chain of `count` lines for `replica` (seq 1 onwards, or after `head`), each linked
 * to the one before and MACed under `key`: exactly what a writer holding only `key` produces.
 */
export function forgeChain(replica: string, count: number, key: AuditKey = forgerKey, head?: ChainHead): string[] {
  const lines: string[] = []
  let last = head
  for (let i = 1; i <= count; i += 1) {
    const time = new Date(AUDIT_CLOCK_START + i * 1_000).toISOString()
    const record = toRecord(entry(900 + i, { member: 'cloud66:6666' }), { time, replica, head: last, key })
    last = { seq: record.seq, mac: record.mac }
    lines.push(serialize(record))
  }
  return lines
}

/** A clean environment for `c66-proxy audit verify` holding TEST_SECRET (unless `extra` overrides it). */
export function auditEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return cleanEnv({ C66_PROXY_SECRET: TEST_SECRET, ...extra })
}

/** The audit tests' first moment, 2026-01-02T03:04:05.000Z; forgeChain's lines count from it too. */
export const AUDIT_CLOCK_START = Date.parse('2026-01-02T03:04:05.000Z')

/** The fake clock as the audit tests use it: from `start`, one second later at each reading (each record). */
export function auditClock(start = AUDIT_CLOCK_START): FakeClock {
  return new FakeClock({ start, stepMs: 1_000 })
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
    event: 'request',
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

/** Opens an AuditLog (keys: testKeys unless given) that is closed when the test ends; errors are collected in `errors`. */
export async function openLog(
  t: ExecutionContext,
  options: Omit<AuditLogOptions, 'clock' | 'keys'> & { clock?: Clock; keys?: AuditKeys },
): Promise<{ log: AuditLog; errors: Error[] }> {
  const errors: Error[] = []
  const log = await AuditLog.open({ clock: auditClock(), keys: testKeys, onError: (err) => errors.push(err), ...options })
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

export async function writeTwoReplicaLog(t: ExecutionContext, path: string, keys: AuditKeys = testKeys): Promise<void> {
  const clock = auditClock()
  let n = 0
  const run = async (order: string) => {
    const logs = {
      a: await AuditLog.open({ destination: path, replica: 'a', clock, keys, onError: (err) => t.fail(err.message) }),
      b: await AuditLog.open({ destination: path, replica: 'b', clock, keys, onError: (err) => t.fail(err.message) }),
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
 * What a forger who knows the format computes after changing a parsed line: a new `mac` over the
 * record without its mac, in the line's own field order (the canonical one), keeping the line's
 * kid. Without the secret the forger has only `'sha256'` (what the unkeyed version 1 chain used)
 * or an HMAC under a key of their own; given the real key (testKeys.current) it is a line only the
 * secret's holder could write, which tests of the chain rules need. Returns the re-serialised line.
 */
export function reforge(line: string, change: (record: Record<string, unknown>) => void, forger: 'sha256' | AuditKey = 'sha256'): string {
  const record = JSON.parse(line) as Record<string, unknown>
  change(record)
  delete record['mac']
  const body = JSON.stringify(record)
  const mac = forger === 'sha256' ? createHash('sha256').update(body).digest('hex') : createHmac('sha256', forger.key).update(body).digest('hex')
  return JSON.stringify({ ...record, mac })
}
