import { existsSync, readFileSync } from 'node:fs'
import test from 'ava'
import { ALL_SCOPES } from '../../src/simulator/index.js'
import { runCli } from '../helpers/cli.js'
import { createKey, errorCode, gwRequest, loginMember, startGateway, startGatewaySim } from '../helpers/gateway.js'
import { until } from '../helpers/wait.js'

// Issue 10, finding 4: an admin did POST /-/api/members/cloud66%3A2/keys and the key it got
// forwarded with member 2's Cloud 66 token: an admin could act as any person. Admins now manage
// bots (service: members) and may revoke any key or remove any member, but nobody can create a
// key that acts with another person's Cloud 66 token.

const PAT = 'bot-pat-0f3c9a1e5b7d4c2a8e6f1b3d5a7c9e0f'

test('finding 4: an admin cannot create a key for another person, through the API or the command line', async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url, flags: { admins: ['cloud66:1'] } })
  const admin = await loginMember(t, gw, sim, 1)
  await loginMember(t, gw, sim, 2)
  const res = await gwRequest(gw, `/-/api/members/${encodeURIComponent('cloud66:2')}/keys`, { cookie: admin.cookie, json: { label: 'act-as-2' } })
  t.is(res.status, 403, res.body)
  t.is(errorCode(res), 'denied_by_policy')
  t.false(res.body.includes('c66p_'))
  // Not even for the admin themselves through the members route: their own keys come from /-/api/keys.
  t.is((await gwRequest(gw, `/-/api/members/${encodeURIComponent('cloud66:1')}/keys`, { cookie: admin.cookie, json: {} })).status, 403)
  const listed = await gwRequest(gw, `/-/api/members/${encodeURIComponent('cloud66:2')}/keys`, { cookie: admin.cookie })
  t.deepEqual(listed.json(), [], 'no key was made for member 2')

  const cli = await runCli(['keys', 'create', '--member', 'cloud66:2', '--json', ...gw.cliArgs], gw.cliEnv())
  t.not(cli.code, 0)
  t.regex(cli.stderr, /is a person/)
})

test("finding 4: admins still manage bots, revoke anyone's key and remove members", async (t) => {
  const sim = await startGatewaySim(t, { tokens: { [PAT]: ALL_SCOPES } })
  const gw = await startGateway(t, { upstream: sim.url, flags: { admins: ['cloud66:1'] } })
  const admin = await loginMember(t, gw, sim, 1)
  const two = await loginMember(t, gw, sim, 2)
  const bot = encodeURIComponent('service:deploy')
  t.is((await gwRequest(gw, `/-/api/members/${bot}/token`, { method: 'PUT', cookie: admin.cookie, json: { token: PAT } })).status, 200)
  const issued = await gwRequest(gw, `/-/api/members/${bot}/keys`, { cookie: admin.cookie, json: { label: 'deploy' } })
  t.is(issued.status, 201, issued.body)
  t.is((await gwRequest(gw, '/stacks.json', { bearer: issued.json<{ key: string }>().key })).status, 200)

  const twosKey = await createKey(gw, two.cookie, { label: 'mine' })
  const revoked = await gwRequest(gw, `/-/api/keys/${twosKey.id}`, { method: 'DELETE', cookie: admin.cookie, json: {} })
  t.is(revoked.status, 200, revoked.body)
  t.is((await gwRequest(gw, '/stacks.json', { bearer: twosKey.key })).status, 401)
  t.is((await gwRequest(gw, `/-/api/members/${encodeURIComponent('cloud66:2')}`, { method: 'DELETE', cookie: admin.cookie, json: {} })).status, 200)
})

/** The audit log's records, parsed. */
function records(path: string): Array<Record<string, unknown>> {
  if (!existsSync(path)) return []
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}

test('finding 4: every management action is an audit record with who acted, the action and its object, and audit verify covers them', async (t) => {
  const sim = await startGatewaySim(t, { tokens: { [PAT]: ALL_SCOPES } })
  const gw = await startGateway(t, { upstream: sim.url, flags: { admins: ['cloud66:1'] } })
  const admin = await loginMember(t, gw, sim, 1)
  const two = await loginMember(t, gw, sim, 2)
  const bot = 'service:deploy'
  await gwRequest(gw, `/-/api/members/${encodeURIComponent(bot)}/token`, { method: 'PUT', cookie: admin.cookie, json: { token: PAT } })
  const botKey = (await gwRequest(gw, `/-/api/members/${encodeURIComponent(bot)}/keys`, { cookie: admin.cookie, json: { label: 'deploy' } })).json<{
    id: string
  }>()
  const own = await createKey(gw, two.cookie, { label: 'mine' })
  await gwRequest(gw, `/-/api/keys/${own.id}`, { method: 'DELETE', cookie: admin.cookie, json: {} })
  await gwRequest(gw, `/-/api/members/${encodeURIComponent('cloud66:2')}`, { method: 'DELETE', cookie: admin.cookie, json: {} })
  const page = await gwRequest(gw, '/-/', { cookie: admin.cookie })
  const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? ''
  const csrfCookie = page.cookie('c66p_csrf') ?? ''
  t.is(
    (
      await gwRequest(gw, '/-/logout', {
        method: 'POST',
        cookie: `${admin.cookie}; ${csrfCookie}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `csrf=${csrf}`,
      })
    ).status,
    303,
  )

  const events = await until('the management records', async () => {
    const found = records(gw.auditLog).filter((r) => r['event'] !== 'request')
    return found.some((r) => r['event'] === 'logout') ? found : undefined
  })
  const brief = events.map((r) => [r['event'], r['member'], r['object'] ?? null, r['key_id'] ?? null])
  t.deepEqual(brief, [
    ['login', 'cloud66:1', null, null],
    ['login', 'cloud66:2', null, null],
    ['member_added', 'cloud66:1', bot, null],
    ['token_attached', 'cloud66:1', bot, null],
    ['key_created', 'cloud66:1', bot, botKey.id],
    ['key_created', 'cloud66:2', 'cloud66:2', own.id],
    ['key_revoked', 'cloud66:1', 'cloud66:2', own.id],
    ['member_removed', 'cloud66:1', 'cloud66:2', null],
    ['logout', 'cloud66:1', null, null],
  ])
  for (const r of events) t.is(r['client'], '127.0.0.1', String(r['event']))
  const text = readFileSync(gw.auditLog, 'utf8')
  t.false(text.includes(PAT), "the bot's token is not in the log")

  // The operator's commands are recorded too, as operator:<user>, in a chain of their own.
  const env = gw.cliEnv()
  t.is((await runCli(['members', 'add-token', 'ci', ...gw.cliArgs], env, PAT)).code, 0)
  const made = JSON.parse((await runCli(['keys', 'create', '--member', 'ci', '--json', ...gw.cliArgs], env)).stdout) as { id: string }
  t.is((await runCli(['keys', 'revoke', made.id, ...gw.cliArgs], env)).code, 0)
  t.is((await runCli(['members', 'remove', 'ci', ...gw.cliArgs], env)).code, 0)
  const operator = records(gw.auditLog).filter((r) => String(r['member']).startsWith('operator:'))
  t.deepEqual(
    operator.map((r) => [r['event'], r['object'], r['key_id'] ?? null]),
    [
      ['member_added', 'service:ci', null],
      ['token_attached', 'service:ci', null],
      ['key_created', 'service:ci', made.id],
      ['key_revoked', 'service:ci', made.id],
      ['member_removed', 'service:ci', null],
    ],
  )
  const verified = await runCli(['audit', 'verify', gw.auditLog, '--json'], env)
  t.is(verified.code, 0, verified.stdout + verified.stderr)
  t.like(JSON.parse(verified.stdout), { ok: true })
})
