import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import test from 'ava'
import { ALL_SCOPES } from '../../src/simulator/index.js'
import { createKey, gwRequest, loginMember, memberToken, startGateway, startGatewaySim, type GwReply, type GwRequestOptions } from '../helpers/gateway.js'
import { CLIENT_ID } from '../helpers/oauth-sim.js'

// Canaries (issue 4): gateway keys, session cookies, Cloud 66 tokens, the OAuth client secret and
// C66_PROXY_SECRET never appear in the logs, the audit log, a response or the metrics, except
// the key in the one response that creates it and the session cookie in its own Set-Cookie.

test('a whole gateway journey leaves no key, cookie, token or secret in logs, audit lines, responses or metrics', async (t) => {
  const clientSecret = `client-secret-canary-${randomBytes(12).toString('hex')}`
  const pat = `pat-canary-${randomBytes(12).toString('hex')}`
  const sim = await startGatewaySim(t, {
    tokens: { [pat]: ALL_SCOPES },
    oauthClients: [{ clientId: CLIENT_ID, clientSecret, redirectUris: ['https://127.0.0.1/-/callback'] }],
  })
  const gw = await startGateway(t, {
    upstream: sim.url,
    env: { C66_CLIENT_SECRET: clientSecret },
    flags: { admins: ['cloud66:1'], memberRate: '12/m', auditAll: true, scopes: 'public redeploy' },
  })

  /** Every reply, and what in it is allowed to carry a secret. */
  const replies: Array<{ what: string; reply: GwReply; shownKey?: string }> = []
  const call = async (what: string, target: string, options: GwRequestOptions = {}) => {
    const reply = await gwRequest(gw, target, options)
    replies.push({ what, reply })
    return reply
  }

  // Members log in; the admin attaches a bot token; keys are made, used, refused, revoked.
  const ada = await loginMember(t, gw, sim, 1)
  const grace = await loginMember(t, gw, sim, 2)
  replies.push({ what: 'ada callback', reply: ada.callback }, { what: 'grace callback', reply: grace.callback })
  const made = [
    await createKey(gw, ada.cookie, { label: 'ada laptop' }),
    await createKey(gw, ada.cookie, { label: 'ada reader', read_only: true }),
    await createKey(gw, grace.cookie, { label: 'grace ci', expires: '1d' }),
  ]
  for (const k of made) replies.push({ what: `create ${k.id}`, reply: k.reply, shownKey: k.key })
  const [adaKey, readerKey, graceKey] = made.map((k) => k.key) as [string, string, string]
  const uid = (await call('stacks', '/stacks.json', { bearer: adaKey })).json<{ response: Array<{ uid: string }> }>().response[0]?.uid ?? ''

  await call('deploy', `/api/3/stacks/${uid}/deployments`, { bearer: adaKey, json: {} })
  await call('basic', `/stacks/${uid}.json`, { basic: ['ada', adaKey] })
  await call('read-only refusal', `/api/3/stacks/${uid}/deployments`, { bearer: readerKey, json: {} })
  await call('gateway deny', '/accounts/otp', { bearer: adaKey })
  await call('unknown key', '/stacks.json', { bearer: `c66p_${randomBytes(32).toString('base64url')}` })
  const adaToken = (await memberToken(gw, 'cloud66:1')) ?? ''
  const graceToken = (await memberToken(gw, 'cloud66:2')) ?? ''
  await call('token as bearer', '/stacks.json', { bearer: adaToken })
  await call('token as basic', '/stacks.json', { basic: ['x', graceToken] })
  await call('unidentified', '/stacks.json', { headers: { cookie: ada.cookie } })
  for (let i = 0; i < 13; i += 1) await call(`grace ${i}`, '/stacks.json', { bearer: graceKey }) // the last ones are rate limited

  await call('me', '/-/api/me', { cookie: ada.cookie })
  await call('keys', '/-/api/keys', { cookie: ada.cookie })
  await call('page', '/-/', { cookie: ada.cookie })
  await call('admin page', '/-/admin', { cookie: ada.cookie })
  await call('attach pat', `/-/api/members/${encodeURIComponent('service:ci')}/token`, { method: 'PUT', cookie: ada.cookie, json: { token: pat } })
  const bot = await gwRequest(gw, `/-/api/members/${encodeURIComponent('service:ci')}/keys`, { cookie: ada.cookie, json: { label: 'bot' } })
  const botKey = bot.json<{ key: string }>().key
  replies.push({ what: 'bot key', reply: bot, shownKey: botKey })
  await call('bot request', '/stacks.json', { bearer: botKey })
  await call('members', '/-/api/members', { cookie: ada.cookie })
  await call('grace keys', `/-/api/members/${encodeURIComponent('cloud66:2')}/keys`, { cookie: ada.cookie })
  await call('revoke', `/-/api/keys/${made[1]?.id ?? ''}`, { method: 'DELETE', cookie: ada.cookie, json: {} })
  await call('revoked key', '/stacks.json', { bearer: readerKey })

  // Cloud 66 revokes ada's token: the gateway meets a 401 upstream.
  sim.revokeToken(adaToken)
  await call('after upstream revocation', '/stacks.json', { bearer: adaKey })
  await call('remove grace', `/-/api/members/${encodeURIComponent('cloud66:2')}`, { method: 'DELETE', cookie: ada.cookie, json: {} })
  await call('removed member key', '/stacks.json', { bearer: graceKey })
  await call('healthz', '/-/healthz')
  await call('readyz', '/-/readyz')
  const metrics = await call('metrics', '/-/metrics')
  t.is(metrics.status, 200)

  const secrets: Record<string, string> = {
    C66_PROXY_SECRET: gw.secret,
    'client secret': clientSecret,
    'personal access token': pat,
    "ada's Cloud 66 token": adaToken,
    "grace's Cloud 66 token": graceToken,
    "ada's session cookie": ada.cookie.slice('c66p_session='.length),
    "grace's session cookie": grace.cookie.slice('c66p_session='.length),
    ...Object.fromEntries(
      [...made.map((k) => k.key), botKey].flatMap((key, i) => [
        [`key ${i}`, key],
        [`key ${i} without prefix`, key.slice('c66p_'.length)],
      ]),
    ),
  }
  t.true(
    Object.values(secrets).every((s) => s.length >= 20),
    'every canary is long enough to mean something',
  )

  const outputs: Array<{ where: string; text: string }> = [
    { where: 'logs', text: gw.logs.join('\n') },
    { where: 'audit log', text: existsSync(gw.auditLog) ? readFileSync(gw.auditLog, 'utf8') : '' },
  ]
  for (const { what, reply, shownKey } of replies) {
    const headers = Object.entries(reply.headers).filter(([name]) => name !== 'set-cookie')
    const body = shownKey === undefined ? reply.body : reply.body.replace(shownKey, '<the key, shown once>')
    outputs.push({ where: `response "${what}"`, text: JSON.stringify(headers) + body })
    // A Set-Cookie may carry its own session cookie and nothing else.
    const cookies = (reply.headers['set-cookie'] ?? []).map((line) => line.replace(/^c66p_session=[^;]*/, 'c66p_session=<own>'))
    outputs.push({ where: `Set-Cookie of "${what}"`, text: cookies.join('\n') })
  }

  t.true(outputs[0]?.text.includes('login completed'), 'the logs were captured')
  t.true((outputs[1]?.text.length ?? 0) > 0, 'the audit log was written')
  t.regex(metrics.body, /c66_proxy_/)
  const leaks = outputs.flatMap(({ where, text }) =>
    Object.entries(secrets)
      .filter(([, secret]) => text.includes(secret))
      .map(([name]) => `${name} in ${where}`),
  )
  // The journey went where it was meant to: successes, refusals, the rate limit and a Cloud 66 401.
  const status = Object.fromEntries(replies.map((r) => [r.what, r.reply.status]))
  t.like(status, {
    deploy: 200,
    basic: 200,
    'read-only refusal': 403,
    'gateway deny': 403,
    'unknown key': 401,
    'token as bearer': 401,
    unidentified: 401,
    'grace 11': 200,
    'grace 12': 429,
    'bot request': 200,
    'revoked key': 401,
    'after upstream revocation': 401,
    'removed member key': 401,
  })
  t.deepEqual(leaks, [])
})
