import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'ava'
import { AUDIT_EVENTS, type AuditEntry, type AuditEvent } from '../../src/audit/record.js'
import { verifyAuditFile } from '../../src/audit/verify.js'
import { auditEnv, entry, layout, openLog, readLines, tempDir, testKeys } from '../helpers/audit-files.js'
import { runCli } from '../helpers/cli.js'

// One entry per event, with the acting member, the action and its object as the callers write them.
const ACTIONS: Record<AuditEvent, AuditEntry> = {
  request: entry(1, { client: '203.0.113.7' }),
  login: { event: 'login', member: 'sso:ann@example.com', client: '203.0.113.7', request_id: 'r-login' },
  logout: { event: 'logout', member: 'sso:ann@example.com', client: '203.0.113.7', request_id: 'r-logout' },
  key_created: {
    event: 'key_created',
    member: 'sso:ann@example.com',
    object: 'cloud66:42',
    key_label: 'deploy-bot',
    key_id: 'gk_1',
    client: '203.0.113.7',
    request_id: 'r-kc',
  },
  key_revoked: { event: 'key_revoked', member: 'sso:admin@example.com', object: 'cloud66:42', key_label: 'deploy-bot', key_id: 'gk_1', request_id: 'r-kr' },
  member_added: { event: 'member_added', member: 'operator:root', object: 'service:ci' },
  member_removed: { event: 'member_removed', member: 'sso:admin@example.com', object: 'cloud66:42', client: '198.51.100.2', request_id: 'r-mr' },
  token_attached: { event: 'token_attached', member: 'operator:deploy', object: 'service:ci' },
  secret_rotated: { event: 'secret_rotated', member: 'operator:root' },
}

test('every management event (and a request) is written with its acting member, action and object, reads back unchanged and verifies', async (t) => {
  t.deepEqual(Object.keys(ACTIONS).sort(), [...AUDIT_EVENTS].sort(), 'one case per AuditEvent')
  const path = join(tempDir(t), 'audit.log')
  const { log, errors } = await openLog(t, { destination: path, replica: 'a' })
  for (const event of AUDIT_EVENTS) log.write(ACTIONS[event])
  await log.close()
  t.deepEqual(errors, [])

  const records = readLines(path).map((line) => JSON.parse(line) as Record<string, unknown>)
  t.is(records.length, AUDIT_EVENTS.length)
  for (const [i, event] of AUDIT_EVENTS.entries()) {
    const record = records[i] ?? {}
    const { v, time, replica, seq, kid, prev, mac, ...fields } = record
    t.like({ v, replica, seq, kid }, { v: 2, replica: 'a', seq: i + 1, kid: testKeys.current.kid })
    t.true(typeof time === 'string' && typeof mac === 'string' && (prev === null) === (i === 0))
    // Exactly the entry's fields come back: nothing added, nothing lost.
    t.deepEqual(fields, { ...ACTIONS[event] }, event)
  }
  t.deepEqual(await verifyAuditFile(path, testKeys), { ok: true, lines: AUDIT_EVENTS.length, replicas: { a: AUDIT_EVENTS.length } })
  const cli = await runCli(['audit', 'verify', path], auditEnv())
  t.is(cli.code, 0, cli.stderr)
})

test('an edited management record (the object of a key revocation changed) is caught at that line', async (t) => {
  const path = join(tempDir(t), 'audit.log')
  const { log } = await openLog(t, { destination: path, replica: 'a' })
  for (const event of AUDIT_EVENTS) log.write(ACTIONS[event])
  await log.close()
  const line = AUDIT_EVENTS.indexOf('key_revoked') + 1
  const original = readFileSync(path, 'utf8')
  const edited = original.replace(
    '"event":"key_revoked","member":"sso:admin@example.com","object":"cloud66:42"',
    '"event":"key_revoked","member":"sso:admin@example.com","object":"cloud66:43"',
  )
  t.not(edited, original)
  writeFileSync(path, edited)
  t.deepEqual(await verifyAuditFile(path, testKeys), { ok: false, line, reason: 'MAC does not match: the line was edited or forged' })
})

test('an event outside AuditEvent (slipped through a cast) is reported through onError, never thrown, and writes nothing', async (t) => {
  const path = join(tempDir(t), 'audit.log')
  const { log, errors } = await openLog(t, { destination: path, replica: 'a' })
  log.write(entry(1))
  t.notThrows(() => log.write({ ...entry(2), event: 'key_stolen' } as unknown as AuditEntry))
  log.write(entry(3))
  await log.close()
  t.is(errors.length, 1)
  t.regex(errors[0]?.message ?? '', /unknown audit event/)
  t.deepEqual(layout(path), ['a:1', 'a:2'])
  t.deepEqual(await verifyAuditFile(path, testKeys), { ok: true, lines: 2, replicas: { a: 2 } })
})
