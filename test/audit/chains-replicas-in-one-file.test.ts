import { join } from 'node:path'
import test from 'ava'
import { verifyAuditFile } from '../../src/audit/verify.js'
import { TWO_REPLICA_LAYOUT, auditEnv, entry, layout, openLog, readLines, tempDir, testKeys, writeTwoReplicaLog } from '../helpers/audit-files.js'
import { runCli } from '../helpers/cli.js'

test('two replicas appending to one file, closed and reopened, leave one intact chain each', async (t) => {
  const path = join(tempDir(t), 'audit.log')
  await writeTwoReplicaLog(t, path)
  t.deepEqual(layout(path), TWO_REPLICA_LAYOUT)
  t.deepEqual(await verifyAuditFile(path, testKeys), { ok: true, lines: 12, replicas: { a: 6, b: 6 } })
})

test('a reopened replica continues its chain: the next seq, and prev is the MAC of its own last line, not the other replica’s', async (t) => {
  const path = join(tempDir(t), 'audit.log')
  await writeTwoReplicaLog(t, path)
  const records = readLines(path).map((line) => JSON.parse(line) as { replica: string; seq: number; prev: string | null; mac: string })
  // Line 10 is a:5, the first line replica a wrote after reopening; its last line before that was line 6 (a:4).
  t.like(records[9], { replica: 'a', seq: 5, prev: records[5]?.mac })
  // Line 9 is b:5, written after reopening; b's last line before was line 8 (b:4).
  t.like(records[8], { replica: 'b', seq: 5, prev: records[7]?.mac })
  t.is(records[0]?.prev, null)
  t.is(records[1]?.prev, null)
})

test('audit verify prints the line count and each replica’s lines, and exits 0, for an intact file', async (t) => {
  const path = join(tempDir(t), 'audit.log')
  await writeTwoReplicaLog(t, path)
  const result = await runCli(['audit', 'verify', path], auditEnv())
  t.is(result.code, 0, result.stderr)
  t.is(result.stdout, 'ok: 12 lines, replicas: a=6, b=6\n')
})

test('audit verify --json gives the same result as JSON', async (t) => {
  const path = join(tempDir(t), 'audit.log')
  await writeTwoReplicaLog(t, path)
  const result = await runCli(['audit', 'verify', '--json', path], auditEnv())
  t.is(result.code, 0, result.stderr)
  t.deepEqual(JSON.parse(result.stdout), { ok: true, lines: 12, replicas: { a: 6, b: 6 } })
})

test('two replicas writing bursts at the same moment never split each other’s lines', async (t) => {
  const path = join(tempDir(t), 'audit.log')
  const a = await openLog(t, { destination: path, replica: 'a' })
  const b = await openLog(t, { destination: path, replica: 'b' })
  // No flush between writes: both streams have many writes in flight on their own descriptors.
  for (let i = 0; i < 3_000; i += 1) {
    a.log.write(entry(i))
    b.log.write(entry(i, { member: 'bot:ci', route: '/stacks/:stack_id/actions' }))
  }
  await Promise.all([a.log.close(), b.log.close()])
  t.deepEqual([a.errors, b.errors], [[], []])
  t.deepEqual(await verifyAuditFile(path, testKeys), { ok: true, lines: 6_000, replicas: { a: 3_000, b: 3_000 } })
})

test('an empty audit log verifies as zero lines', async (t) => {
  const path = join(tempDir(t), 'audit.log')
  const { log } = await openLog(t, { destination: path, replica: 'a' })
  await log.close()
  t.deepEqual(await verifyAuditFile(path, testKeys), { ok: true, lines: 0, replicas: {} })
  const result = await runCli(['audit', 'verify', path], auditEnv())
  t.is(result.code, 0, result.stderr)
  t.is(result.stdout, 'ok: 0 lines, replicas: none\n')
})

test('audit verify exits 2 and says why when the file cannot be read', async (t) => {
  const path = join(tempDir(t), 'no-such-audit.log')
  const result = await runCli(['audit', 'verify', path], auditEnv())
  t.is(result.code, 2)
  t.regex(result.stderr, /cannot read .*no-such-audit\.log: ENOENT/)
  t.is(result.stdout, '')
})
