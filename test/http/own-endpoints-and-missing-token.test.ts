import { createHash } from 'node:crypto'
import test from 'ava'
import { assertProxyError, assertUpstreamUntouched, send, startGuardedStack } from '../helpers/safety-harness.js'

// With no token anywhere the proxy still starts and says how to fix it; with one, its pages show
// where the token came from and a fingerprint, never the token. `/-/…` is the proxy's own and is
// never forwarded.

const CANARY = 'canary-7f3a9c1e-token-MUST-NOT-LEAK'
const fingerprint = (token: string) => `sha256:${createHash('sha256').update(token).digest('hex').slice(0, 12)}`

test('without a token an API request gets 401 no_token saying how to provide one, and nothing is forwarded', async (t) => {
  const stack = await startGuardedStack(t, { token: null })
  for (const target of ['/api/3/stacks', '/stacks.json']) {
    const res = await send(stack.port, { target })
    assertProxyError(t, res, 401, 'no_token')
    const body = JSON.parse(res.body) as { message: string }
    t.regex(body.message, /CLOUD66_ACCESS_TOKEN/)
    t.regex(body.message, /--token-file/)
  }
  assertUpstreamUntouched(t, stack)
})

test('without a token /-/healthz is 200 and /-/readyz is 503 naming the missing token', async (t) => {
  const stack = await startGuardedStack(t, { token: null })
  const health = await send(stack.port, { target: '/-/healthz' })
  t.is(health.status, 200, health.raw)
  const ready = await send(stack.port, { target: '/-/readyz' })
  t.is(ready.status, 503, ready.raw)
  t.regex(ready.body, /token/i)
  assertUpstreamUntouched(t, stack)
})

test('without a token the status page explains how to provide one', async (t) => {
  const stack = await startGuardedStack(t, { token: null })
  const page = await send(stack.port, { target: '/-/' })
  t.is(page.status, 200, page.raw)
  t.regex(page.headers['content-type'] ?? '', /^text\/html/)
  t.regex(page.body, /No Cloud 66 token/)
  t.regex(page.body, /CLOUD66_ACCESS_TOKEN/)
  t.regex(page.body, /--token-file/)
  t.regex(page.body, /cx\.json/)
})

test('with a token /-/readyz is 200 and the status page shows its source and fingerprint, never the token', async (t) => {
  const stack = await startGuardedStack(t, { token: CANARY })
  const ready = await send(stack.port, { target: '/-/readyz' })
  t.is(ready.status, 200, ready.raw)
  t.false(ready.raw.includes(CANARY))
  const page = await send(stack.port, { target: '/-/' })
  t.is(page.status, 200, page.raw)
  t.true(page.body.includes(fingerprint(CANARY)), 'the fingerprint is shown')
  t.regex(page.body, /sha256:[0-9a-f]{12}\b/)
  t.regex(page.body, /Token in use from <strong>CLOUD66_ACCESS_TOKEN<\/strong>/, 'the source is named')
  t.notRegex(page.body, /No Cloud 66 token/)
  t.false(page.raw.includes(CANARY), 'the token itself never appears')
  t.false(page.raw.includes(CANARY.slice(0, 16)), 'not even its start')
  assertUpstreamUntouched(t, stack)
})

test('the status page has a strict Content-Security-Policy and no script', async (t) => {
  const stack = await startGuardedStack(t)
  const page = await send(stack.port, { target: '/-/' })
  const csp = page.headers['content-security-policy'] ?? ''
  const directives = new Map(
    csp
      .split(';')
      .map((d) => d.trim())
      .filter(Boolean)
      .map((d) => {
        const [name = '', ...values] = d.split(/\s+/)
        return [name, values] as const
      }),
  )
  t.deepEqual(directives.get('default-src'), ["'none'"], csp)
  t.false(directives.has('script-src'), 'no script source is allowed at all')
  t.notRegex(csp, /unsafe-inline|unsafe-eval|\*/)
  t.deepEqual(directives.get('frame-ancestors'), ["'none'"])
  t.notRegex(page.body, /<script/i)
  t.is(page.headers['x-content-type-options'], 'nosniff')
})

test('an unknown /-/ path is a 404 not_found JSON and is never forwarded', async (t) => {
  const stack = await startGuardedStack(t)
  for (const target of ['/-/x', '/-/stacks', '/-/healthz/extra']) {
    assertProxyError(t, await send(stack.port, { target }), 404, 'not_found')
  }
  assertUpstreamUntouched(t, stack)
})

const wrongMethod = test.macro<[method: string, target: string]>({
  async exec(t, method, target) {
    const stack = await startGuardedStack(t)
    const res = await send(stack.port, { method, target, body: '{}', headers: [['Content-Type', 'application/json']] })
    assertProxyError(t, res, 405, 'method_not_allowed')
    assertUpstreamUntouched(t, stack)
  },
  title: (given = '', method, target) => given || `${method} ${target} is a 405 method_not_allowed and is never forwarded`,
})

test(wrongMethod, 'POST', '/-/healthz')
test(wrongMethod, 'PUT', '/-/readyz')
test(wrongMethod, 'DELETE', '/-/')
test(wrongMethod, 'POST', '/-/metrics')
