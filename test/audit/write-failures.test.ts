import { appendFileSync, mkdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'ava'
import { AuditLog } from '../../src/audit/audit-log.js'
import { verifyAuditFile } from '../../src/audit/verify.js'
import { auditClock, entry, layout, openLog, readLines, tempDir, testKeys, writeLines } from '../helpers/audit-files.js'

test('open creates a missing directory as 0700 and the log file as 0600', async (t) => {
  const dir = join(tempDir(t), 'data', 'audit')
  const path = join(dir, 'audit.log')
  const { log } = await openLog(t, { destination: path, replica: 'a' })
  log.write(entry(1))
  await log.close()
  t.is(statSync(dir).mode & 0o777, 0o700)
  t.is(statSync(path).mode & 0o777, 0o600)
})

test('open refuses to start when the log cannot be created, instead of failing on every request', async (t) => {
  const blocker = join(tempDir(t), 'not-a-directory')
  writeFileSync(blocker, '')
  await t.throwsAsync(AuditLog.open({ destination: join(blocker, 'audit.log'), replica: 'a', clock: auditClock(), keys: testKeys }), {
    message: /not-a-directory/,
  })
})

test('a write that fails is reported through onError, never thrown, and the log recovers once the cause is gone', async (t) => {
  const dir = join(tempDir(t), 'later')
  const path = join(dir, 'audit.log')
  const errors: Error[] = []
  const log = new AuditLog({ destination: path, replica: 'a', clock: auditClock(), keys: testKeys, onError: (err) => errors.push(err) })
  t.teardown(() => log.close())

  t.notThrows(() => log.write(entry(1)))
  await log.flush()
  t.is(errors.length, 1)
  t.is((errors[0] as NodeJS.ErrnoException | undefined)?.code, 'ENOENT')
  t.is(log.errors, 1)

  mkdirSync(dir)
  log.write(entry(2))
  await log.close()
  t.is(errors.length, 1)
  // The record that was lost still took its place in the chain, so verify shows the gap.
  t.deepEqual(layout(path), ['a:2'])
  t.like(await verifyAuditFile(path, testKeys), { ok: false, line: 1, reason: 'replica "a" starts at seq 2: its earlier lines are missing' })
})

test('records the disk cannot keep up with are dropped and reported, and the gap is visible to verify', async (t) => {
  const path = join(tempDir(t), 'audit.log')
  const errors: Error[] = []
  const log = await AuditLog.open({
    destination: path,
    replica: 'a',
    clock: auditClock(),
    keys: testKeys,
    onError: (err) => errors.push(err),
    maxBufferedBytes: 600,
  })
  t.teardown(() => log.close())
  for (let i = 1; i <= 5; i += 1) t.notThrows(() => log.write(entry(i)))
  await log.flush()
  log.write(entry(6))
  await log.close()

  t.deepEqual(layout(path), ['a:1', 'a:6'])
  t.is(errors.length, 4)
  t.regex(errors[0]?.message ?? '', /not keeping up; record seq 2 dropped/)
  t.like(await verifyAuditFile(path, testKeys), {
    ok: false,
    line: 2,
    reason: 'replica "a": expected seq 2 after seq 1, found seq 6 (a line is missing or out of order)',
  })
})

test('a write after close is reported, not thrown, and adds nothing to the file', async (t) => {
  const path = join(tempDir(t), 'audit.log')
  const { log, errors } = await openLog(t, { destination: path, replica: 'a' })
  log.write(entry(1))
  await log.close()
  t.notThrows(() => log.write(entry(2)))
  t.is(errors.length, 1)
  t.regex(errors[0]?.message ?? '', /closed/)
  t.deepEqual(layout(path), ['a:1'])
})

test('an onError callback that throws does not reach the caller of write', async (t) => {
  const path = join(tempDir(t), 'audit.log')
  const log = new AuditLog({
    destination: path,
    replica: 'a',
    clock: auditClock(),
    keys: testKeys,
    onError: () => {
      throw new Error('reporter broke')
    },
  })
  await log.close()
  t.notThrows(() => log.write(entry(1)))
  t.is(log.errors, 1)
})

test('reopening after a write torn by a crash keeps the torn line as evidence and continues the chain on a line of its own', async (t) => {
  const path = join(tempDir(t), 'audit.log')
  const first = await openLog(t, { destination: path, replica: 'a' })
  for (let i = 1; i <= 3; i += 1) first.log.write(entry(i))
  await first.log.close()
  const complete = readLines(path)
  const lost = `${complete[2]?.slice(0, 40) ?? ''}`
  appendFileSync(path, lost) // half of a fourth line, no newline

  const second = await openLog(t, { destination: path, replica: 'a' })
  second.log.write(entry(5))
  await second.log.close()

  const lines = readLines(path)
  t.is(lines.length, 5)
  t.is(lines[3], lost)
  t.like(JSON.parse(lines[4] ?? '{}'), { replica: 'a', seq: 4, prev: (JSON.parse(complete[2] ?? '{}') as { mac: string }).mac })
  t.like(await verifyAuditFile(path, testKeys), { ok: false, line: 4 })
  // Without the torn line, the rest is one intact chain: open continued from the last whole record.
  writeLines(
    path,
    lines.filter((_, i) => i !== 3),
  )
  t.deepEqual(await verifyAuditFile(path, testKeys), { ok: true, lines: 4, replicas: { a: 4 } })
})
