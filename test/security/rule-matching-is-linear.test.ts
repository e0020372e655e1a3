import test from 'ava'
import { compileRule, matchSegments, type PathRule } from '../../src/rules/path-rules.js'
import { SIM_TOKEN, send, startSim } from '../helpers/forwarding.js'
import { createKey, errorCode, gwRequest, loginMember, startGateway, startGatewaySim } from '../helpers/gateway.js'
import { startProxy } from '../helpers/proxy.js'

// Issue 9, finding 3: `**` was matched by trying every split, so the work doubled with each
// `**`; one member's key rule of seven held the event loop for 2.4 s on a 50-segment path.
// Matching is now linear in the path's length, and members' rules are bounded at creation.

/** The old, exponential matcher: the reference for what a pattern means. */
function reference(pattern: readonly string[], path: readonly string[], i = 0, j = 0): boolean {
  if (i === pattern.length) return j === path.length
  const p = pattern[i]
  if (p === '**') {
    for (let k = j; k <= path.length; k++) if (reference(pattern, path, i + 1, k)) return true
    return false
  }
  if (j === path.length) return false
  return (p === '*' || p === path[j]) && reference(pattern, path, i + 1, j + 1)
}

/** A small deterministic generator, so a failure names a reproducible case. */
function* cases(count: number): Generator<{ pattern: string[]; path: string[] }> {
  let seed = 0x9e3779b9
  const next = (n: number) => {
    seed = (Math.imul(seed ^ (seed >>> 15), 0x85ebca6b) + 0x6b) >>> 0
    return seed % n
  }
  const atoms = ['a', 'b', 'c', '*', '**']
  for (let k = 0; k < count; k++) {
    const pattern = Array.from({ length: next(7) }, () => atoms[next(atoms.length)] as string)
    const path = Array.from({ length: next(9) }, () => ['a', 'b', 'c'][next(3)] as string)
    yield { pattern, path }
  }
}

test('the linear matcher agrees with the reference matcher on 20,000 generated patterns and paths', (t) => {
  let matched = 0
  for (const { pattern, path } of cases(20_000)) {
    const expected = reference(pattern, path)
    if (matchSegments(pattern, path) !== expected) {
      t.fail(`/${pattern.join('/')} against /${path.join('/')}: expected ${expected}`)
      return
    }
    if (expected) matched += 1
  }
  t.true(matched > 1_000, `only ${matched} matches: the generator is too narrow`)
})

test('finding 3, local: a rule of sixteen ** against a 60-segment path is answered, and the rule still means what it says', async (t) => {
  // With the old matcher this request would run for longer than the universe has existed.
  const rule = `/${Array.from({ length: 16 }, () => '**').join('/')}/nomatch`
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, flags: { denyPaths: [rule, '/**/secret/**/deeper'] }, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  const long = `/${Array.from({ length: 60 }, (_v, i) => `s${i}`).join('/')}`
  const reply = await send(`${proxy.url}${long}`)
  t.not(reply.status, 403, 'no rule matches this path')
  t.is(sim.requests.length, 1)
  const denied = await send(`${proxy.url}/a/b/secret/c/d/e/deeper.json`)
  t.is(denied.status, 403)
  t.is((await send(`${proxy.url}/a/b/secret/c/d/e/nomatch`)).status, 403, 'the sixteen-** rule matches a path that ends in nomatch')
})

test('finding 3, gateway: a key whose rules are too big to match cheaply is refused at creation with a clear 400', async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url })
  const { cookie } = await loginMember(t, gw, sim, 1)
  const tooManyStars = await gwRequest(gw, '/-/api/keys', { cookie, json: { label: 'x', deny_paths: ['/**/**/**/**/**/**/**/nomatch'] } })
  t.is(tooManyStars.status, 400)
  t.is(errorCode(tooManyStars), 'bad_request')
  t.regex(tooManyStars.json<{ message: string }>().message, /\*\* at most 4 times/)
  const tooManySegments = await gwRequest(gw, '/-/api/keys', {
    cookie,
    json: { label: 'x', allow_paths: [`/${Array.from({ length: 40 }, () => 'a').join('/')}`] },
  })
  t.is(tooManySegments.status, 400)
  const tooManyRules = await gwRequest(gw, '/-/api/keys', { cookie, json: { label: 'x', deny_paths: Array.from({ length: 51 }, (_v, i) => `/p${i}`) } })
  t.is(tooManyRules.status, 400)
  const tooLong = await gwRequest(gw, '/-/api/keys', { cookie, json: { label: 'x', deny_paths: [`/${'a'.repeat(400)}`] } })
  t.is(tooLong.status, 400)
  const fine = await createKey(gw, cookie, { label: 'ok', deny_paths: ['/**/**/**/**/nomatch'] })
  t.truthy(fine.key)
})

test('rules that can never match, or name no method, are refused wherever they are written', (t) => {
  for (const bad of ['PSOT /stacks/*/deployments', '/stacks//x', '/stacks/%2A', '/stacks/dep*', '/stacks?x', '?', '? spaced', '?a[b]']) {
    t.is(typeof compileRule(bad), 'string', bad)
  }
  for (const good of ['/accounts/otp', 'post /stacks/*/deployments', '/stacks/**/environments', '?include_private_key', '/api/3/jwt/fetch.json', '/']) {
    t.is(typeof compileRule(good), 'object', good)
  }
  t.is((compileRule('post /x') as PathRule).method, 'POST')
})
