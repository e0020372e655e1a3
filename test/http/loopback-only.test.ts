import os from 'node:os'
import test, { type ExecutionContext } from 'ava'
import { pino } from 'pino'
import { createApp } from '../../src/app.js'
import { loadConfig } from '../../src/config/load.js'
import { ConfigError } from '../../src/errors.js'
import { createMetrics } from '../../src/metrics.js'
import { startSimulator } from '../../src/simulator/index.js'
import { assertProxyError, exchange, requestBytes, SIM_TOKEN } from '../helpers/safety-harness.js'

// The proxy acts as its user on Cloud 66, so only this machine may reach it: it refuses to listen
// on anything but loopback, and even then checks that each peer is on loopback (CVE-2020-8558:
// a service bound to 127.0.0.1 was reachable from neighbours).

const HOME = { HOME: '/nonexistent-c66-proxy-test-home' }
const LISTEN_SETTING = '--listen / C66_PROXY_LISTEN'

const listenProblems = (flags: Record<string, unknown>, env: Record<string, string> = {}) => {
  try {
    loadConfig({ flags, env: { ...HOME, ...env } })
    return []
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    return err.problems.filter((p) => p.setting === LISTEN_SETTING)
  }
}

const refusedListen = test.macro<[listen: string]>({
  exec(t, listen) {
    const problems = listenProblems({ listen })
    t.is(problems.length, 1, `expected one problem naming ${LISTEN_SETTING}`)
    t.regex(problems[0]?.message ?? '', /loopback/)
    t.regex(problems[0]?.message ?? '', /--unsafe-listen-any/)
  },
  title: (given = '', listen) => given || `listening on ${listen} is a configuration error naming ${LISTEN_SETTING}`,
})

test(refusedListen, '0.0.0.0:8066')
test(refusedListen, '[::]:8066')
test(refusedListen, '192.0.2.10:8066')
test(refusedListen, '10.1.2.3:8066')
test(refusedListen, 'my-laptop.local:8066')

test('a non-loopback address from C66_PROXY_LISTEN is refused the same way', (t) => {
  const problems = listenProblems({}, { C66_PROXY_LISTEN: '0.0.0.0:8066' })
  t.is(problems.length, 1)
})

test('loadConfig throws a ConfigError for a non-loopback listen address', (t) => {
  const err = t.throws(() => loadConfig({ flags: { listen: '0.0.0.0:8066' }, env: HOME }), { instanceOf: ConfigError })
  t.regex(err?.message ?? '', /--listen \/ C66_PROXY_LISTEN/)
})

const acceptedListen = test.macro<[listen: string]>({
  exec(t, listen) {
    t.deepEqual(listenProblems({ listen }), [])
  },
  title: (given = '', listen) => given || `listening on ${listen} is accepted`,
})

test(acceptedListen, '127.0.0.1:8066')
test(acceptedListen, '127.0.0.2:8066')
test(acceptedListen, '[::1]:8066')
test(acceptedListen, 'localhost:8066')

test('--unsafe-listen-any lets the proxy listen on all interfaces', (t) => {
  const config = loadConfig({ flags: { listen: '0.0.0.0:8066', unsafeListenAny: true }, env: HOME })
  t.deepEqual(config.listen, { host: '0.0.0.0', port: 8066 })
  t.true(config.unsafeListenAny)
})

/** This machine's first non-loopback IPv4 address; the test fails (never skips) without one. */
function externalIPv4(): string {
  for (const addresses of Object.values(os.networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === 'IPv4' && !a.internal) return a.address
  }
  throw new Error('this machine has no non-internal IPv4 interface: the remote-address check cannot be exercised here')
}

/** A proxy listening on every interface, with or without the per-connection loopback check. */
async function startOpenProxy(t: ExecutionContext, unsafeListenAny: boolean) {
  const sim = await startSimulator()
  t.teardown(() => sim.close())
  const loaded = loadConfig({
    flags: { listen: '0.0.0.0:0', unsafeListenAny: true, upstream: sim.url.origin, logLevel: 'silent' },
    env: { ...HOME, CLOUD66_ACCESS_TOKEN: SIM_TOKEN },
  })
  // Listening on all interfaces needs the unsafe flag at load time; turning it off afterwards
  // keeps the wide listener while the remote-address check stays on.
  const config = { ...loaded, unsafeListenAny }
  const app = await createApp(config, { log: pino({ level: 'silent' }), metrics: createMetrics() })
  const { port } = await app.listen()
  t.teardown(() => app.close())
  return { sim, port }
}

test('a client connecting from a non-loopback address is refused with 403 forbidden_remote and nothing is forwarded', async (t) => {
  const ip = externalIPv4()
  const { sim, port } = await startOpenProxy(t, false)
  const res = await exchange({ port, host: ip, localAddress: ip }, requestBytes(port, { target: '/api/3/stacks' }))
  assertProxyError(t, res, 403, 'forbidden_remote')
  t.is(sim.requests.length, 0)
  const own = await exchange({ port, host: ip, localAddress: ip }, requestBytes(port, { target: '/-/' }))
  assertProxyError(t, own, 403, 'forbidden_remote')
})

test('the same proxy serves a client connecting from 127.0.0.1', async (t) => {
  const { sim, port } = await startOpenProxy(t, false)
  const res = await exchange({ port, host: '127.0.0.1' }, requestBytes(port, { target: '/api/3/stacks' }))
  t.is(res.status, 200, res.raw)
  t.is(sim.requests.length, 1)
})

test('--unsafe-listen-any also lifts the remote-address check', async (t) => {
  const ip = externalIPv4()
  const { sim, port } = await startOpenProxy(t, true)
  const res = await exchange({ port, host: ip, localAddress: ip }, requestBytes(port, { target: '/api/3/stacks' }))
  t.is(res.status, 200, res.raw)
  t.is(sim.requests.length, 1)
})
