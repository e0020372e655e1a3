import { createHmac, hkdfSync, randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'ava'
import type { AuditEntry } from '../../src/audit/record.js'
import { verifyAuditFile } from '../../src/audit/verify.js'
import { TEST_SECRET, auditClock, entry, openLog, readLines, tempDir, testKeys } from '../helpers/audit-files.js'

// Derived here from the documented labels, not through src/, so a changed label fails this test.
const secret = Buffer.from(TEST_SECRET, 'hex')
const macKey = Buffer.from(hkdfSync('sha256', secret, 'c66-proxy', 'c66-proxy audit mac v1', 32))
const kid = Buffer.from(hkdfSync('sha256', secret, 'c66-proxy', 'c66-proxy audit key id v1', 4)).toString('hex')
const hmac = (text: string) => createHmac('sha256', macKey).update(text, 'utf8').digest('hex')

test('each line is canonical JSON in the documented field order, timed by the injected clock, MACed over everything but its mac', async (t) => {
  const path = join(tempDir(t), 'audit.log')
  const { log, errors } = await openLog(t, { destination: path, replica: 'eu-1', clock: auditClock(Date.parse('2026-03-04T05:06:07.089Z')) })
  log.write({
    request_id: 'r-1',
    duration_ms: 12,
    status: 200,
    stack_id: 'abc123',
    route: '/stacks/:stack_id/deployments',
    method: 'POST',
    key_id: 'key_1',
    key_label: 'laptop',
    client: '203.0.113.7',
    member: 'cloud66:42',
    event: 'request',
  })
  log.write({ event: 'request', member: 'sso:ann@example.com', method: 'DELETE', route: '/stacks/:stack_id', status: 204, duration_ms: 3, request_id: 'r-2' })
  log.write({
    event: 'key_revoked',
    member: 'sso:ann@example.com',
    client: '203.0.113.8',
    object: 'cloud66:42',
    key_label: 'laptop',
    key_id: 'key_1',
    request_id: 'r-3',
  })
  await log.close()
  t.deepEqual(errors, [])
  t.is(testKeys.current.kid, kid)

  const [first, second, third, ...rest] = readLines(path)
  t.deepEqual(rest, [])
  const firstBody = `{"v":2,"time":"2026-03-04T05:06:07.089Z","replica":"eu-1","seq":1,"kid":"${kid}","event":"request","member":"cloud66:42","client":"203.0.113.7","key_label":"laptop","key_id":"key_1","method":"POST","route":"/stacks/:stack_id/deployments","stack_id":"abc123","status":200,"duration_ms":12,"request_id":"r-1","prev":null}`
  t.is(first, `${firstBody.slice(0, -1)},"mac":"${hmac(firstBody)}"}`)
  // Optional fields that were not given are absent, not null; prev is the first record's mac.
  const secondBody = `{"v":2,"time":"2026-03-04T05:06:08.089Z","replica":"eu-1","seq":2,"kid":"${kid}","event":"request","member":"sso:ann@example.com","method":"DELETE","route":"/stacks/:stack_id","status":204,"duration_ms":3,"request_id":"r-2","prev":"${hmac(firstBody)}"}`
  t.is(second, `${secondBody.slice(0, -1)},"mac":"${hmac(secondBody)}"}`)
  // A management action: who acted, on whom (object), which key; no method, route or status.
  const thirdBody = `{"v":2,"time":"2026-03-04T05:06:09.089Z","replica":"eu-1","seq":3,"kid":"${kid}","event":"key_revoked","member":"sso:ann@example.com","client":"203.0.113.8","object":"cloud66:42","key_label":"laptop","key_id":"key_1","request_id":"r-3","prev":"${hmac(secondBody)}"}`
  t.is(third, `${thirdBody.slice(0, -1)},"mac":"${hmac(thirdBody)}"}`)
  t.deepEqual(await verifyAuditFile(path, testKeys), { ok: true, lines: 3, replicas: { 'eu-1': 3 } })
})

test('a record never carries a key, token or cookie, even when a caller passes one by mistake', async (t) => {
  const path = join(tempDir(t), 'audit.log')
  const canary = `c66p_${randomUUID().replaceAll('-', '')}`
  const { log, errors } = await openLog(t, { destination: path, replica: 'a' })
  const careless = {
    ...entry(1),
    key: canary,
    token: canary,
    access_token: canary,
    cookie: `c66_session=${canary}`,
    authorization: `Bearer ${canary}`,
    headers: { authorization: canary },
  }
  log.write(careless as unknown as AuditEntry)
  await log.close()
  t.deepEqual(errors, [])

  const text = readFileSync(path, 'utf8')
  t.false(text.includes(canary))
  const [line] = readLines(path)
  t.deepEqual(Object.keys(JSON.parse(line ?? '{}') as object), [
    'v',
    'time',
    'replica',
    'seq',
    'kid',
    'event',
    'member',
    'key_label',
    'key_id',
    'method',
    'route',
    'stack_id',
    'status',
    'duration_ms',
    'request_id',
    'prev',
    'mac',
  ])
  t.deepEqual(await verifyAuditFile(path, testKeys), { ok: true, lines: 1, replicas: { a: 1 } })
})

test('values of the wrong type passed through a cast are written as their declared types, so the line still verifies', async (t) => {
  const path = join(tempDir(t), 'audit.log')
  const { log, errors } = await openLog(t, { destination: path, replica: 'a' })
  log.write({ ...entry(1), status: '201', duration_ms: 4.6, stack_id: 77, key_label: undefined } as unknown as AuditEntry)
  log.write({ ...entry(2), duration_ms: Number.NaN, key_id: null } as unknown as AuditEntry)
  await log.close()
  t.deepEqual(errors, [])
  const [first, second] = readLines(path).map((line) => JSON.parse(line) as Record<string, unknown>)
  t.like(first, { status: 201, duration_ms: 5, stack_id: '77' })
  t.false(first !== undefined && 'key_label' in first)
  t.like(second, { duration_ms: 0 })
  t.false(second !== undefined && 'key_id' in second)
  t.deepEqual(await verifyAuditFile(path, testKeys), { ok: true, lines: 2, replicas: { a: 2 } })
})

test('text with quotes, newlines and non-ASCII characters stays on one line and verifies', async (t) => {
  const path = join(tempDir(t), 'audit.log')
  const { log } = await openLog(t, { destination: path, replica: 'zürich-"1"' })
  log.write(entry(1, { member: 'sso:"ann"\n<ann@exämple.com>', key_label: 'line one\nline two\u2028✓' }))
  await log.close()
  const lines = readLines(path)
  t.is(lines.length, 1)
  t.like(JSON.parse(lines[0] ?? '{}'), { replica: 'zürich-"1"', member: 'sso:"ann"\n<ann@exämple.com>', key_label: 'line one\nline two\u2028✓' })
  t.deepEqual(await verifyAuditFile(path, testKeys), { ok: true, lines: 1, replicas: { 'zürich-"1"': 1 } })
})
