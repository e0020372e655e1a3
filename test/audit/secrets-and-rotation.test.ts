import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'ava'
import { auditKeysFromSecrets } from '../../src/audit/audit-key.js'
import { verifyAuditFile } from '../../src/audit/verify.js'
import {
  OTHER_SECRET,
  TEST_SECRET,
  TWO_REPLICA_LAYOUT,
  auditClock,
  auditEnv,
  entry,
  forgeChain,
  layout,
  openLog,
  otherKeys,
  readLines,
  tempDir,
  testKeys,
  writeLines,
  writeTwoReplicaLog,
} from '../helpers/audit-files.js'
import { cleanEnv, runCli } from '../helpers/cli.js'

const UNKNOWN_KID = /^unknown key id "[0-9a-f]{8}": written under another secret, or forged; give the secret \(and C66_PROXY_PREVIOUS_SECRETS\) that wrote it$/

/** Keys after a rotation from OTHER_SECRET (old) to TEST_SECRET (current). */
const rotatedKeys = auditKeysFromSecrets(Buffer.from(TEST_SECRET, 'hex'), [Buffer.from(OTHER_SECRET, 'hex')])

test('a line copied in from a log written under another secret is reported at that line as an unknown key id', async (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'audit.log')
  const foreign = join(dir, 'other-gateway.log')
  await writeTwoReplicaLog(t, path)
  // Another gateway with the same replica names, under its own secret.
  await writeTwoReplicaLog(t, foreign, otherKeys)
  const lines = readLines(path)
  // Its a:4 (line 6) after our a:3 (line 4): the seq and layout fit, the kid does not.
  writeLines(path, [...lines.slice(0, 4), readLines(foreign)[5] ?? '', ...lines.slice(4)])
  const result = await verifyAuditFile(path, testKeys)
  t.like(result, { ok: false, line: 5 })
  if (!result.ok) t.regex(result.reason, UNKNOWN_KID)
})

test('a file verified with the wrong secret fails at line 1, and audit verify exits 1', async (t) => {
  const path = join(tempDir(t), 'audit.log')
  await writeTwoReplicaLog(t, path)
  const result = await verifyAuditFile(path, otherKeys)
  t.like(result, { ok: false, line: 1 })
  if (!result.ok) t.regex(result.reason, UNKNOWN_KID)
  const cli = await runCli(['audit', 'verify', path], auditEnv({ C66_PROXY_SECRET: OTHER_SECRET }))
  t.is(cli.code, 1, cli.stderr)
  t.regex(cli.stdout, /^chain broken at line 1: unknown key id/)
  t.false(cli.stdout.includes(OTHER_SECRET) || cli.stderr.includes(OTHER_SECRET))
})

test('lines written before a rotation verify with the old secret in C66_PROXY_PREVIOUS_SECRETS, and the chain runs on across it', async (t) => {
  const path = join(tempDir(t), 'audit.log')
  const before = await openLog(t, { destination: path, replica: 'a', keys: otherKeys })
  before.log.write(entry(1))
  before.log.write(entry(2))
  await before.log.close()
  // After the rotation the writer is given the old secret too: it verifies its last line and links to it.
  const after = await openLog(t, { destination: path, replica: 'a', keys: rotatedKeys })
  t.is(after.log.head?.seq, 2)
  after.log.write(entry(3))
  await after.log.close()
  t.deepEqual(layout(path), ['a:1', 'a:2', 'a:3'])
  const kids = readLines(path).map((line) => (JSON.parse(line) as { kid: string }).kid)
  t.deepEqual(kids, [otherKeys.current.kid, otherKeys.current.kid, testKeys.current.kid])

  t.deepEqual(await verifyAuditFile(path, rotatedKeys), { ok: true, lines: 3, replicas: { a: 3 } })
  const withoutOld = await verifyAuditFile(path, testKeys)
  t.like(withoutOld, { ok: false, line: 1 })
  const cli = await runCli(['audit', 'verify', path], auditEnv({ C66_PROXY_PREVIOUS_SECRETS: ` ${OTHER_SECRET} ,` }))
  t.is(cli.code, 0, cli.stderr)
  t.is(cli.stdout, 'ok: 3 lines, replicas: a=3\n')
})

test('a writer that cannot verify its replica’s last line (rotated without the previous secret) starts a new chain at seq 1, which verify accepts as a restart', async (t) => {
  const path = join(tempDir(t), 'audit.log')
  const before = await openLog(t, { destination: path, replica: 'a', keys: otherKeys })
  before.log.write(entry(1))
  before.log.write(entry(2))
  await before.log.close()
  const after = await openLog(t, { destination: path, replica: 'a', keys: testKeys })
  t.is(after.log.head, undefined)
  after.log.write(entry(3))
  await after.log.close()
  t.deepEqual(layout(path), ['a:1', 'a:2', 'a:1'])
  t.like(JSON.parse(readLines(path)[2] ?? '{}'), { seq: 1, prev: null })
  t.deepEqual(await verifyAuditFile(path, rotatedKeys), { ok: true, lines: 3, replicas: { a: 3 } })
})

test('a writer whose replica’s last line is forged does not link to it: a new chain at seq 1', async (t) => {
  const path = join(tempDir(t), 'audit.log')
  const first = await openLog(t, { destination: path, replica: 'a' })
  first.log.write(entry(1))
  await first.log.close()
  const real = readLines(path)
  // A forged a:2 (seq 2, linked to a:1, MACed under the forger's key) at the end of the file.
  const [forged] = forgeChain('a', 1, undefined, { seq: 1, mac: (JSON.parse(real[0] ?? '{}') as { mac: string }).mac })
  writeLines(path, [...real, forged ?? ''])
  const second = await openLog(t, { destination: path, replica: 'a' })
  t.is(second.log.head, undefined)
  second.log.write(entry(3))
  await second.log.close()
  t.deepEqual(layout(path), ['a:1', 'a:2', 'a:1'])
  t.like(await verifyAuditFile(path, testKeys), { ok: false, line: 2, reason: 'MAC does not match: the line was edited or forged' })
})

test('the forged chains of the tampering tests are well-formed: under the forger’s own key they verify, so only the MAC catches them', async (t) => {
  const path = join(tempDir(t), 'audit.log')
  await writeTwoReplicaLog(t, path)
  const lines = readLines(path)
  t.deepEqual(layout(path), TWO_REPLICA_LAYOUT)
  writeLines(path, [...lines.slice(0, 6), ...forgeChain('z', 3, otherKeys.current), ...lines.slice(6)])
  t.deepEqual(await verifyAuditFile(path, rotatedKeys), { ok: true, lines: 15, replicas: { a: 6, b: 6, z: 3 } })
  t.like(await verifyAuditFile(path, testKeys), { ok: false, line: 7 })
})

test('a version 1 (unkeyed) log is refused by verify, and a writer appending to it starts a new keyed chain at seq 1', async (t) => {
  const path = join(tempDir(t), 'audit.log')
  const v1 =
    '{"v":1,"time":"2026-01-02T03:04:05.000Z","replica":"a","seq":1,"member":"cloud66:1","method":"POST","route":"/stacks/:id","status":200,"duration_ms":3,"request_id":"r-1","prev":null,"hash":"0000000000000000000000000000000000000000000000000000000000000000"}'
  writeFileSync(path, `${v1}\n`)
  t.deepEqual(await verifyAuditFile(path, testKeys), { ok: false, line: 1, reason: 'record version 1 is unkeyed; start a new audit log' })
  const { log } = await openLog(t, { destination: path, replica: 'a', clock: auditClock() })
  t.is(log.head, undefined)
  log.write(entry(2))
  await log.close()
  t.like(JSON.parse(readLines(path)[1] ?? '{}'), { v: 2, seq: 1, prev: null })
})

test('audit verify without a secret exits 2, names C66_PROXY_SECRET, C66_PROXY_SECRET_FILE and C66_PROXY_PREVIOUS_SECRETS, and prints no secret', async (t) => {
  const path = join(tempDir(t), 'audit.log')
  await writeTwoReplicaLog(t, path)
  const cli = await runCli(['audit', 'verify', path], cleanEnv({ C66_PROXY_PREVIOUS_SECRETS: OTHER_SECRET }))
  t.is(cli.code, 2)
  t.is(cli.stdout, '')
  t.regex(cli.stderr, /C66_PROXY_SECRET\b/)
  t.regex(cli.stderr, /C66_PROXY_SECRET_FILE/)
  t.regex(cli.stderr, /C66_PROXY_PREVIOUS_SECRETS/)
  t.false(cli.stderr.includes(OTHER_SECRET))
})

test('audit verify with a malformed secret or previous secret exits 2 naming the variable, never echoing the value', async (t) => {
  const path = join(tempDir(t), 'audit.log')
  await writeTwoReplicaLog(t, path)
  const short = 'c0ffee'.repeat(5) // 15 bytes: too few
  const cases: Array<[NodeJS.ProcessEnv, RegExp]> = [
    [auditEnv({ C66_PROXY_SECRET: short }), /C66_PROXY_SECRET: holds only 15 bytes/],
    [auditEnv({ C66_PROXY_PREVIOUS_SECRETS: `${OTHER_SECRET},${short}` }), /C66_PROXY_PREVIOUS_SECRETS \(item 2\): holds only 15 bytes/],
    [cleanEnv({ C66_PROXY_SECRET_FILE: join(tempDir(t), 'missing.key') }), /C66_PROXY_SECRET_FILE: cannot read .*missing\.key \(ENOENT\)/],
  ]
  for (const [env, message] of cases) {
    const cli = await runCli(['audit', 'verify', path], env)
    t.is(cli.code, 2, cli.stderr)
    t.is(cli.stdout, '')
    t.regex(cli.stderr, message)
    t.false(cli.stderr.includes(short), 'the malformed value is not echoed')
    t.false(cli.stderr.includes(TEST_SECRET) || cli.stderr.includes(OTHER_SECRET), 'no secret is echoed')
  }
})

test('audit verify reads the secret from C66_PROXY_SECRET_FILE, and refuses it together with C66_PROXY_SECRET', async (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'audit.log')
  const keyFile = join(dir, 'secret.key')
  writeFileSync(keyFile, `${TEST_SECRET}\n`, { mode: 0o600 })
  await writeTwoReplicaLog(t, path)
  const fromFile = await runCli(['audit', 'verify', path], cleanEnv({ C66_PROXY_SECRET_FILE: keyFile }))
  t.is(fromFile.code, 0, fromFile.stderr)
  t.is(fromFile.stdout, 'ok: 12 lines, replicas: a=6, b=6\n')
  const both = await runCli(['audit', 'verify', path], auditEnv({ C66_PROXY_SECRET_FILE: keyFile }))
  t.is(both.code, 2)
  t.regex(both.stderr, /C66_PROXY_SECRET_FILE: set either C66_PROXY_SECRET or C66_PROXY_SECRET_FILE, not both/)
  t.false(both.stderr.includes(TEST_SECRET))
})
