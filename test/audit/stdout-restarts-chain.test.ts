import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import test from 'ava'
import { AuditLog } from '../../src/audit/audit-log.js'
import { verifyAuditFile } from '../../src/audit/verify.js'
import { auditClock, entry, reforge, tempDir, testKeys } from '../helpers/audit-files.js'

async function runOnStdout(replica: string, count: number, start: number): Promise<{ text: string; ended: boolean }> {
  const stdout = new PassThrough()
  let text = ''
  stdout.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')))
  const log = await AuditLog.open({ destination: '-', replica, clock: auditClock(), keys: testKeys, stdout })
  for (let i = 0; i < count; i += 1) log.write(entry(start + i))
  await log.close()
  return { text, ended: stdout.writableEnded }
}

test('on standard output each start begins a new chain at seq 1, and verify accepts the restart', async (t) => {
  const first = await runOnStdout('a', 3, 1)
  const second = await runOnStdout('a', 2, 4)
  t.false(first.ended, 'close() must not end standard output')
  const seqs = (first.text + second.text)
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as { seq: number; prev: string | null })
  t.deepEqual(
    seqs.map((r) => r.seq),
    [1, 2, 3, 1, 2],
  )
  t.is(seqs[3]?.prev, null)

  const path = join(tempDir(t), 'collected.log')
  writeFileSync(path, first.text + second.text)
  t.deepEqual(await verifyAuditFile(path, testKeys), { ok: true, lines: 5, replicas: { a: 5 } })
})

test('a restart is accepted only as seq 1 with prev null: a line that claims seq 1 but links to a MAC breaks the chain', async (t) => {
  const first = await runOnStdout('a', 2, 1)
  const forged = await runOnStdout('a', 2, 3)
  const lines = (first.text + forged.text).trimEnd().split('\n')
  const secondRecord = JSON.parse(lines[1] ?? '{}') as { mac: string }
  // Line 3 is the second run's seq 1, re-sealed under the real key so its own MAC is right (only the
  // chain rule can catch it); linking it to the previous line makes it neither a continuation
  // (seq 3) nor a restart (prev null).
  lines[2] = reforge(lines[2] ?? '', (record) => (record['prev'] = secondRecord.mac), testKeys.current)
  const path = join(tempDir(t), 'collected.log')
  writeFileSync(path, lines.map((line) => `${line}\n`).join(''))
  t.deepEqual(await verifyAuditFile(path, testKeys), {
    ok: false,
    line: 3,
    reason: 'replica "a": expected seq 3 after seq 2, found seq 1 (a line is missing or out of order)',
  })
})
