import { appendFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import test from 'ava'
import type { AuditLog } from '../../src/audit/audit-log.js'
import { verifyAuditFile } from '../../src/audit/verify.js'
import { entry, layout, openLog, readLines, tempDir, testKeys } from '../helpers/audit-files.js'

async function writeMany(log: AuditLog, count: number, from = 0): Promise<void> {
  // Batches with a flush between them: the way a busy gateway's writes reach the disk.
  for (let i = 0; i < count; i += 1) {
    log.write(entry(from + i))
    if (i % 1_000 === 999) await log.flush()
  }
  await log.flush()
}

test('a 100,000-line file from two replicas verifies by streaming, and a reopened replica continues it', async (t) => {
  t.timeout(180_000)
  const path = join(tempDir(t), 'audit.log')
  const a = await openLog(t, { destination: path, replica: 'a' })
  const b = await openLog(t, { destination: path, replica: 'b' })
  await Promise.all([writeMany(a.log, 50_000), writeMany(b.log, 49_999)])
  await Promise.all([a.log.close(), b.log.close()])
  t.deepEqual([a.errors, b.errors], [[], []])

  const reopened = await openLog(t, { destination: path, replica: 'b' })
  t.deepEqual(reopened.log.head?.seq, 49_999)
  reopened.log.write(entry(100_000))
  await reopened.log.close()

  t.deepEqual(await verifyAuditFile(path, testKeys), { ok: true, lines: 100_000, replicas: { a: 50_000, b: 50_000 } })
})

test('reopening finds a replica’s last line even when more than a 64 KiB block of other replicas’ lines follows it', async (t) => {
  const path = join(tempDir(t), 'audit.log')
  const a = await openLog(t, { destination: path, replica: 'a' })
  a.log.write(entry(1))
  a.log.write(entry(2))
  await a.log.close()
  const b = await openLog(t, { destination: path, replica: 'b' })
  await writeMany(b.log, 600)
  await b.log.close()
  t.true(statSync(path).size > 3 * 64 * 1024)

  const again = await openLog(t, { destination: path, replica: 'a' })
  again.log.write(entry(3))
  await again.log.close()
  t.deepEqual(layout(path).at(-1), 'a:3')
  t.deepEqual(await verifyAuditFile(path, testKeys), { ok: true, lines: 603, replicas: { a: 3, b: 600 } })
})

test('a line longer than a megabyte is reported without being read whole, and reopening skips it', async (t) => {
  const path = join(tempDir(t), 'audit.log')
  const first = await openLog(t, { destination: path, replica: 'a' })
  first.log.write(entry(1))
  await first.log.close()
  appendFileSync(path, `${'x'.repeat(3 * 1024 * 1024)}\n`)

  t.deepEqual(await verifyAuditFile(path, testKeys), { ok: false, line: 2, reason: 'line is longer than 1048576 bytes' })

  const second = await openLog(t, { destination: path, replica: 'a' })
  second.log.write(entry(2))
  await second.log.close()
  const lines = readLines(path)
  t.is(lines.length, 3)
  t.like(JSON.parse(lines[2] ?? '{}'), { seq: 2, prev: (JSON.parse(lines[0] ?? '{}') as { mac: string }).mac })
})
