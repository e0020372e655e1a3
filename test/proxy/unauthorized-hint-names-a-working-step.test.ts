// When Cloud 66 rejects the token and nothing replaces it, the 401 passes through with an
// X-C66-Proxy-Hint header saying what to do. The step it names must work in this configuration:
// /-/login only when OAuth is configured (otherwise that page answers 400 "Login is not configured").
import test from 'ava'
import { ALL_SCOPES } from '../../src/simulator/index.js'
import { send, startSim } from '../helpers/forwarding.js'
import { startProxy } from '../helpers/proxy.js'

interface Hint {
  error: string
  message: string
}

const hintOf = (headers: Record<string, unknown>): Hint => JSON.parse(String(headers['x-c66-proxy-hint'])) as Hint

test('without OAuth the hint names the token sources and `token set`, not a login page that is not set up', async (t) => {
  const sim = await startSim(t, { tokens: { 'gone-token': ALL_SCOPES } })
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: 'gone-token' } })
  sim.revokeToken('gone-token')
  const reply = await send(`${proxy.url}/stacks.json`)
  t.is(reply.status, 401)
  const hint = hintOf(reply.headers)
  t.is(hint.error, 'upstream_unauthorized')
  t.notRegex(hint.message, /\/-\/login|c66-proxy login/)
  t.regex(hint.message, /c66-proxy token set/)
  t.regex(hint.message, /c66-proxy status/)
  t.false(hint.message.includes('gone-token'))
  // Why: in this configuration the login page cannot help.
  t.is((await send(`${proxy.url}/-/login`)).status, 400)
})

test('with OAuth configured the hint names this proxy’s /-/login, which does start a login', async (t) => {
  const sim = await startSim(t, { tokens: { 'gone-token': ALL_SCOPES } })
  const proxy = await startProxy(t, {
    upstream: sim.url,
    flags: { clientId: 'sim-client' },
    env: { CLOUD66_ACCESS_TOKEN: 'gone-token', C66_CLIENT_SECRET: 'sim-secret' },
  })
  sim.revokeToken('gone-token')
  const reply = await send(`${proxy.url}/stacks.json`)
  t.is(reply.status, 401)
  const hint = hintOf(reply.headers)
  const login = /(http:\/\/\S+\/-\/login)\b/.exec(hint.message)?.[1]
  t.is(login, `${proxy.url}/-/login`)
  const started = await send(login ?? '')
  t.is(started.status, 303)
  t.true(String(started.headers.location).startsWith(`${sim.url.origin}/oauth/authorize?`))
})
