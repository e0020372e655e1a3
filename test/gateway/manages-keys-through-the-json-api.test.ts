import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import test from 'ava'
import { ALL_SCOPES } from '../../src/simulator/index.js'
import { FakeClock } from '../helpers/fake-clock.js'
import { createKey, errorCode, gwRequest, loginMember, memberToken, startGateway, startGatewaySim, type StartedGateway } from '../helpers/gateway.js'
import { until } from '../helpers/wait.js'

// Members manage their gateway keys through the JSON API under /-/api/ (the /-/ page uses it too):
// a key is shown once and stored only as its hash; revoking it stops it at once. The API needs
// the session cookie and JSON, and refuses other origins. Admins manage everyone.

const KEY_FORMAT = /^c66p_[A-Za-z0-9_-]{43}$/

interface KeyJson {
  readonly id: string
  readonly member: string
  readonly label: string
  readonly created_at: string
  readonly last_used_at: string | null
  readonly expires_at: string | null
  readonly revoked_at: string | null
  readonly read_only: boolean
  readonly key?: string
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex')
const NAMESPACES = ['member', 'key', 'keyhash', 'keyused', 'session']

async function everyStoredDoc(gw: StartedGateway): Promise<string> {
  const docs = await Promise.all(NAMESPACES.map((ns) => gw.store.listDocs(ns)))
  return JSON.stringify(docs)
}

test('creating a key answers 201 with the key once, in the c66p_ format, with its label, expiry and access', async (t) => {
  const clock = new FakeClock({ start: Date.parse('2026-03-01T10:00:00.000Z') })
  const sim = await startGatewaySim(t, { clock })
  const gw = await startGateway(t, { upstream: sim.url, io: { clock } })
  const { cookie } = await loginMember(t, gw, sim, 1)
  const res = await gwRequest(gw, '/-/api/keys', { cookie, json: { label: 'deploy laptop', expires: '30d', read_only: true } })
  t.is(res.status, 201, res.body)
  const body = res.json<KeyJson>()
  t.regex(body.key ?? '', KEY_FORMAT)
  t.regex(body.id, /^\S+$/)
  t.not(body.id, body.key)
  t.like(body, { member: 'cloud66:1', label: 'deploy laptop', read_only: true, revoked_at: null, last_used_at: null })
  t.is(body.expires_at, '2026-03-31T10:00:00.000Z')
  t.is(body.created_at, '2026-03-01T10:00:00.000Z')
  t.is(res.headers['cache-control'], 'no-store')
})

test('the key is never shown again: the list omits it and the store keeps only its SHA-256', async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url })
  const { cookie } = await loginMember(t, gw, sim, 1)
  const first = await createKey(gw, cookie, { label: 'one' })
  const second = await createKey(gw, cookie, { label: 'two' })
  const list = await gwRequest(gw, '/-/api/keys', { cookie })
  t.is(list.status, 200)
  const keys = list.json<KeyJson[]>()
  t.deepEqual(
    keys.map((k) => [k.id, k.label]),
    [
      [first.id, 'one'],
      [second.id, 'two'],
    ],
  )
  for (const created of [first, second]) {
    t.false(list.body.includes(created.key))
    t.false(list.body.includes(sha256(created.key)), 'not even the hash is listed')
  }
  t.true(keys.every((k) => !('key' in k) && !('hash' in k)))

  const stored = await everyStoredDoc(gw)
  for (const created of [first, second]) {
    t.false(stored.includes(created.key))
    t.false(stored.includes(created.key.slice('c66p_'.length)))
    t.true(stored.includes(sha256(created.key)), 'the hash is what the store keeps')
  }
  const onDisk = await readFile(join(gw.dataDir, 'store.json'), 'utf8')
  t.false(onDisk.includes(first.key.slice('c66p_'.length)))
})

test("the list shows when a key was last used, and only the member's own keys", async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url })
  const ada = await loginMember(t, gw, sim, 1)
  const grace = await loginMember(t, gw, sim, 2)
  const adaKey = await createKey(gw, ada.cookie, { label: 'ada' })
  await createKey(gw, grace.cookie, { label: 'grace' })
  t.is((await gwRequest(gw, '/stacks.json', { bearer: adaKey.key })).status, 200)
  const used = await until('the key to show a last use', async () => {
    const keys = (await gwRequest(gw, '/-/api/keys', { cookie: ada.cookie })).json<KeyJson[]>()
    return keys[0]?.last_used_at ? keys : undefined
  })
  t.deepEqual(
    used.map((k) => k.label),
    ['ada'],
  )
})

test('revoking a key stops it at the next request and marks it revoked in the list', async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url })
  const { cookie } = await loginMember(t, gw, sim, 1)
  const { id, key } = await createKey(gw, cookie)
  const other = await createKey(gw, cookie, { label: 'other' })
  t.is((await gwRequest(gw, '/stacks.json', { bearer: key })).status, 200)
  const revoked = await gwRequest(gw, `/-/api/keys/${id}`, { method: 'DELETE', cookie, json: {} })
  t.is(revoked.status, 200, revoked.body)
  t.truthy(revoked.json<KeyJson>().revoked_at)
  const res = await gwRequest(gw, '/stacks.json', { bearer: key })
  t.is(res.status, 401)
  t.is(errorCode(res), 'invalid_key')
  t.is((await gwRequest(gw, '/stacks.json', { bearer: other.key })).status, 200, 'the other key still works')
  const listed = (await gwRequest(gw, '/-/api/keys', { cookie })).json<KeyJson[]>()
  t.truthy(listed.find((k) => k.id === id)?.revoked_at)
  t.is(listed.find((k) => k.id === other.id)?.revoked_at, null)
})

test('another member cannot revoke a key: 404, and the key keeps working', async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url })
  const ada = await loginMember(t, gw, sim, 1)
  const grace = await loginMember(t, gw, sim, 2)
  const { id, key } = await createKey(gw, ada.cookie)
  const res = await gwRequest(gw, `/-/api/keys/${id}`, { method: 'DELETE', cookie: grace.cookie, json: {} })
  t.is(res.status, 404)
  t.is(errorCode(res), 'not_found')
  t.is((await gwRequest(gw, '/stacks.json', { bearer: key })).status, 200)
  t.deepEqual((await gwRequest(gw, '/-/api/keys', { cookie: grace.cookie })).json(), [])
})

test('a key created with an expiry stops working when it passes', async (t) => {
  const clock = new FakeClock({ start: Date.now() })
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url, io: { clock } })
  const { cookie } = await loginMember(t, gw, sim, 1)
  const { key } = await createKey(gw, cookie, { expires: '2h' })
  t.is((await gwRequest(gw, '/stacks.json', { bearer: key })).status, 200)
  clock.advance(2 * 3_600_000)
  t.is(errorCode(await gwRequest(gw, '/stacks.json', { bearer: key })), 'invalid_key')
})

test('an expiry that is not a duration or a future time is a 400', async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url })
  const { cookie } = await loginMember(t, gw, sim, 1)
  for (const expires of ['soon', '2001-01-01T00:00:00Z', '-5d']) {
    const res = await gwRequest(gw, '/-/api/keys', { cookie, json: { label: 'x', expires } })
    t.is(res.status, 400, expires)
    t.is(errorCode(res), 'bad_request', expires)
  }
  t.deepEqual((await gwRequest(gw, '/-/api/keys', { cookie })).json(), [])
})

test('without a session every key endpoint answers 401', async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url })
  const { cookie } = await loginMember(t, gw, sim, 1)
  const { id } = await createKey(gw, cookie)
  for (const res of [
    await gwRequest(gw, '/-/api/keys'),
    await gwRequest(gw, '/-/api/keys', { json: { label: 'x' } }),
    await gwRequest(gw, `/-/api/keys/${id}`, { method: 'DELETE', json: {} }),
    await gwRequest(gw, '/-/api/me'),
  ]) {
    t.is(res.status, 401, res.body)
  }
  t.is((await gwRequest(gw, '/-/api/keys', { cookie })).json<KeyJson[]>()[0]?.revoked_at, null)
})

test('state-changing API calls without Content-Type: application/json get 415 and change nothing', async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url })
  const { cookie } = await loginMember(t, gw, sim, 1)
  const { id, key } = await createKey(gw, cookie)
  const body = JSON.stringify({ label: 'sneaky' })
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', undefined]) {
    const headers = type === undefined ? {} : { 'content-type': type }
    const post = await gwRequest(gw, '/-/api/keys', { method: 'POST', cookie, headers, body })
    t.is(post.status, 415, `POST as ${type}`)
    const del = await gwRequest(gw, `/-/api/keys/${id}`, { method: 'DELETE', cookie, headers })
    t.is(del.status, 415, `DELETE as ${type}`)
  }
  const keys = (await gwRequest(gw, '/-/api/keys', { cookie })).json<KeyJson[]>()
  t.deepEqual(
    keys.map((k) => [k.id, k.revoked_at]),
    [[id, null]],
  )
  t.is((await gwRequest(gw, '/stacks.json', { bearer: key })).status, 200)
})

test('an API request with a foreign Origin gets 403; the public origin is accepted', async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url })
  const { cookie } = await loginMember(t, gw, sim, 1)
  for (const origin of ['https://evil.example', 'null', `http://127.0.0.1:${gw.port}`, 'https://127.0.0.1']) {
    const post = await gwRequest(gw, '/-/api/keys', { cookie, json: { label: 'x' }, headers: { origin } })
    t.is(post.status, 403, `POST from ${origin}`)
    const get = await gwRequest(gw, '/-/api/keys', { cookie, headers: { origin } })
    t.is(get.status, 403, `GET from ${origin}`)
  }
  t.deepEqual((await gwRequest(gw, '/-/api/keys', { cookie })).json(), [])
  const same = await gwRequest(gw, '/-/api/keys', { cookie, json: { label: 'x' }, headers: { origin: gw.url } })
  t.is(same.status, 201, same.body)
})

test('admin endpoints answer 403 to members who are not admins', async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url, flags: { admins: ['cloud66:2'] } })
  const ada = await loginMember(t, gw, sim, 1)
  await loginMember(t, gw, sim, 2)
  const grace = encodeURIComponent('cloud66:2')
  const calls = [
    gwRequest(gw, '/-/api/members', { cookie: ada.cookie }),
    gwRequest(gw, `/-/api/members/${grace}/keys`, { cookie: ada.cookie }),
    gwRequest(gw, `/-/api/members/${grace}/keys`, { cookie: ada.cookie, json: { label: 'stolen' } }),
    gwRequest(gw, `/-/api/members/${encodeURIComponent('service:ci')}/token`, { method: 'PUT', cookie: ada.cookie, json: { token: 'whatever' } }),
    gwRequest(gw, `/-/api/members/${grace}`, { method: 'DELETE', cookie: ada.cookie, json: {} }),
    gwRequest(gw, '/-/admin', { cookie: ada.cookie }),
  ]
  for (const res of await Promise.all(calls)) t.is(res.status, 403, res.body)
  t.truthy(await memberToken(gw, 'cloud66:2'), 'grace is still there')
  t.is(await memberToken(gw, 'service:ci'), undefined)
  t.deepEqual((await gw.store.listDocs('key')).length, 0)
})

test("an admin lists members without their tokens, and lists and revokes anyone's keys", async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url, flags: { admins: ['cloud66:1'] } })
  const admin = await loginMember(t, gw, sim, 1)
  const grace = await loginMember(t, gw, sim, 2)
  const graceKey = await createKey(gw, grace.cookie, { label: 'grace laptop' })

  const members = await gwRequest(gw, '/-/api/members', { cookie: admin.cookie })
  t.is(members.status, 200, members.body)
  const rows = members.json<Array<{ id: string; keys: number; token: { present: boolean } }>>()
  t.deepEqual(
    rows.map((m) => [m.id, m.keys, m.token.present]),
    [
      ['cloud66:1', 0, true],
      ['cloud66:2', 1, true],
    ],
  )
  for (const memberId of ['cloud66:1', 'cloud66:2']) {
    const token = await memberToken(gw, memberId)
    t.false(members.body.includes(token ?? 'no token'), `no token of ${memberId}`)
  }

  const listed = await gwRequest(gw, `/-/api/members/${encodeURIComponent('cloud66:2')}/keys`, { cookie: admin.cookie })
  t.deepEqual(
    listed.json<KeyJson[]>().map((k) => [k.id, k.label]),
    [[graceKey.id, 'grace laptop']],
  )
  t.false(listed.body.includes(graceKey.key))

  const revoked = await gwRequest(gw, `/-/api/keys/${graceKey.id}`, { method: 'DELETE', cookie: admin.cookie, json: {} })
  t.is(revoked.status, 200, revoked.body)
  t.is(errorCode(await gwRequest(gw, '/stacks.json', { bearer: graceKey.key })), 'invalid_key')
})

test('an admin removes a member: their keys stop working and their token is gone', async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url, flags: { admins: ['cloud66:1'] } })
  const admin = await loginMember(t, gw, sim, 1)
  const grace = await loginMember(t, gw, sim, 2)
  const graceKey = await createKey(gw, grace.cookie)
  t.is((await gwRequest(gw, '/stacks.json', { bearer: graceKey.key })).status, 200)

  const removed = await gwRequest(gw, `/-/api/members/${encodeURIComponent('cloud66:2')}`, { method: 'DELETE', cookie: admin.cookie, json: {} })
  t.is(removed.status, 200, removed.body)
  const before = sim.requests.length
  const res = await gwRequest(gw, '/stacks.json', { bearer: graceKey.key })
  t.is(res.status, 401)
  t.is(errorCode(res), 'invalid_key')
  t.is(sim.requests.length, before)
  t.is(await gw.store.getToken('cloud66:2'), undefined)
  const members = (await gwRequest(gw, '/-/api/members', { cookie: admin.cookie })).json<Array<{ id: string }>>()
  t.deepEqual(
    members.map((m) => m.id),
    ['cloud66:1'],
  )
  t.is((await gwRequest(gw, '/-/api/me', { cookie: grace.cookie })).status, 401, "the removed member's session is over too")
})

test('an admin attaches a personal access token to service:ci and issues it a key that works', async (t) => {
  const pat = 'ci-personal-access-token-0123456789abcdef'
  const sim = await startGatewaySim(t, { tokens: { [pat]: ALL_SCOPES } })
  const gw = await startGateway(t, { upstream: sim.url, flags: { admins: ['cloud66:1'] } })
  const admin = await loginMember(t, gw, sim, 1)
  const ci = encodeURIComponent('service:ci')

  const attached = await gwRequest(gw, `/-/api/members/${ci}/token`, { method: 'PUT', cookie: admin.cookie, json: { token: pat } })
  t.is(attached.status, 200, attached.body)
  t.false(attached.body.includes(pat))

  const issued = await gwRequest(gw, `/-/api/members/${ci}/keys`, { cookie: admin.cookie, json: { label: 'github actions' } })
  t.is(issued.status, 201, issued.body)
  const { key, member } = issued.json<KeyJson>()
  t.is(member, 'service:ci')
  t.regex(key ?? '', KEY_FORMAT)

  const before = sim.requests.length
  const res = await gwRequest(gw, '/stacks.json', { bearer: key ?? '' })
  t.is(res.status, 200, res.body)
  t.is(sim.requests.slice(before).at(-1)?.token, pat)
})
