import { createHash, randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'ava'
import type { AuditEntry } from '../../src/audit/record.js'
import { verifyAuditFile } from '../../src/audit/verify.js'
import { entry, openLog, readLines, steppingClock, tempDir } from '../helpers/audit-files.js'

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex')

test('each line is canonical JSON in the documented field order, timed by the injected clock, hashed over everything but its hash', async (t) => {
  const path = join(tempDir(t), 'audit.log')
  const { log, errors } = await openLog(t, { destination: path, replica: 'eu-1', clock: steppingClock(Date.parse('2026-03-04T05:06:07.089Z')) })
  log.write({ member: 'cloud66:42', key_label: 'laptop', key_id: 'key_1', method: 'POST', route: '/stacks/:stack_id/deployments', stack_id: 'abc123', status: 200, duration_ms: 12, request_id: 'r-1' })
  log.write({ member: 'sso:ann@example.com', method: 'DELETE', route: '/stacks/:stack_id', status: 204, duration_ms: 3, request_id: 'r-2' })
  await log.close()
  t.deepEqual(errors, [])

  const [first, second, ...rest] = readLines(path)
  t.deepEqual(rest, [])
  const firstBody = '{"v":1,"time":"2026-03-04T05:06:07.089Z","replica":"eu-1","seq":1,"member":"cloud66:42","key_label":"laptop","key_id":"key_1","method":"POST","route":"/stacks/:stack_id/deployments","stack_id":"abc123","status":200,"duration_ms":12,"request_id":"r-1","prev":null}'
  t.is(first, `${firstBody.slice(0, -1)},"hash":"${sha256(firstBody)}"}`)
  // Optional fields that were not given are absent, not null; prev is the first record's hash.
  const secondBody = `{"v":1,"time":"2026-03-04T05:06:08.089Z","replica":"eu-1","seq":2,"member":"sso:ann@example.com","method":"DELETE","route":"/stacks/:stack_id","status":204,"duration_ms":3,"request_id":"r-2","prev":"${sha256(firstBody)}"}`
  t.is(second, `${secondBody.slice(0, -1)},"hash":"${sha256(secondBody)}"}`)
})

test('a record never carries a key, token or cookie, even when a caller passes one by mistake', async (t) => {
  const path = join(tempDir(t), 'audit.log')
  const canary = `c66p_${randomUUID().replaceAll('-', '')}`
  const { log, errors } = await openLog(t, { destination: path, replica: 'a' })
  const careless = { ...entry(1), key: canary, token: canary, access_token: canary, cookie: `c66_session=${canary}`, authorization: `Bearer ${canary}`, headers: { authorization: canary } }
  log.write(careless as unknown as AuditEntry)
  await log.close()
  t.deepEqual(errors, [])

  const text = readFileSync(path, 'utf8')
  t.false(text.includes(canary))
  const [line] = readLines(path)
  t.deepEqual(Object.keys(JSON.parse(line ?? '{}') as object), [
    'v', 'time', 'replica', 'seq', 'member', 'key_label', 'key_id', 'method', 'route', 'stack_id', 'status', 'duration_ms', 'request_id', 'prev', 'hash',
  ])
  t.deepEqual(await verifyAuditFile(path), { ok: true, lines: 1, replicas: { a: 1 } })
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
  t.deepEqual(await verifyAuditFile(path), { ok: true, lines: 2, replicas: { a: 2 } })
})

test('text with quotes, newlines and non-ASCII characters stays on one line and verifies', async (t) => {
  const path = join(tempDir(t), 'audit.log')
  const { log } = await openLog(t, { destination: path, replica: 'zürich-"1"' })
  log.write(entry(1, { member: 'sso:"ann"\n<ann@exämple.com>', key_label: 'line one\nline two\u2028✓' }))
  await log.close()
  const lines = readLines(path)
  t.is(lines.length, 1)
  t.like(JSON.parse(lines[0] ?? '{}'), { replica: 'zürich-"1"', member: 'sso:"ann"\n<ann@exämple.com>', key_label: 'line one\nline two\u2028✓' })
  t.deepEqual(await verifyAuditFile(path), { ok: true, lines: 1, replicas: { 'zürich-"1"': 1 } })
})
