import test from 'ava'
import { ALL_SCOPES } from '../../src/simulator/index.js'
import { runCli } from '../helpers/cli.js'
import { createKey, errorCode, gwRequest, loginMember, startGateway, startGatewaySim } from '../helpers/gateway.js'

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

test('finding 4: admins still manage bots, revoke anyone\'s key and remove members', async (t) => {
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
