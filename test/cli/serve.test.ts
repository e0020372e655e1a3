import net from 'node:net'
import test from 'ava'
import { startSimulator } from '../../src/simulator/index.js'
import { cleanEnv, runCli, startCli } from '../helpers/cli.js'
import { tempHome } from '../helpers/token-files.js'

test('serve refuses a non-loopback --listen address, names the setting and exits non-zero', async (t) => {
  const home = tempHome(t)
  for (const listen of ['0.0.0.0:0', '[::]:0', '192.0.2.10:8066']) {
    const result = await runCli(['serve', '--listen', listen], cleanEnv({ HOME: home.home, CLOUD66_ACCESS_TOKEN: 'tok' }))
    t.not(result.code, 0, listen)
    t.regex(result.stderr, /--listen \/ C66_PROXY_LISTEN: .* is not a loopback address/, listen)
    t.regex(result.stderr, /--unsafe-listen-any/, listen)
  }
})

test('serve refuses a non-loopback C66_PROXY_LISTEN the same way', async (t) => {
  const home = tempHome(t)
  const result = await runCli(['serve'], cleanEnv({ HOME: home.home, C66_PROXY_LISTEN: '0.0.0.0:0' }))
  t.not(result.code, 0)
  t.regex(result.stderr, /--listen \/ C66_PROXY_LISTEN: 0\.0\.0\.0 is not a loopback address/)
})

test('serve is the default command, starts without a token, and answers 401 no_token until one is provided', async (t) => {
  const sim = await startSimulator()
  t.teardown(() => sim.close())
  const home = tempHome(t)
  const proxy = startCli(t, ['--listen', '127.0.0.1:0', '--upstream', sim.url.origin], cleanEnv({ HOME: home.home }))
  const [, url] = await proxy.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/)
  const res = await fetch(`${url}/stacks`)
  t.is(res.status, 401)
  t.like(await res.json(), { error: 'no_token' })
  const ready = await fetch(`${url}/-/readyz`)
  t.is(ready.status, 503)
  t.is(sim.requests.length, 0)
  proxy.child.kill('SIGTERM')
  t.like(await proxy.exited, { code: 0 })
})

test('serve on an address already in use exits non-zero and says which address', async (t) => {
  // Some other program on the port: it hangs up on whoever connects (the proxy asks it /-/healthz).
  const taken = net.createServer((socket) => socket.destroy())
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => taken.close(() => resolve())))
  const { port } = taken.address() as net.AddressInfo
  const home = tempHome(t)
  const result = await runCli(['serve', '--listen', `127.0.0.1:${port}`], cleanEnv({ HOME: home.home, CLOUD66_ACCESS_TOKEN: 'tok' }))
  t.is(result.code, 1)
  t.regex(result.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} \\(EADDRINUSE\\)`))
  // …and, like the demo, what to do about it.
  t.regex(result.stderr, /another program is using that port/)
  t.regex(result.stderr, /choose another address with --listen HOST:PORT or C66_PROXY_LISTEN/)
})

test('serve on the address of a running c66-proxy says so', async (t) => {
  const sim = await startSimulator()
  t.teardown(() => sim.close())
  const home = tempHome(t)
  const env = cleanEnv({ HOME: home.home, CLOUD66_ACCESS_TOKEN: 'tok' })
  const first = startCli(t, ['serve', '--listen', '127.0.0.1:0', '--upstream', sim.url.origin], env)
  const [, port] = await first.waitFor(/listening on http:\/\/127\.0\.0\.1:(\d+)/)
  const second = await runCli(['serve', '--listen', `127.0.0.1:${port}`, '--upstream', sim.url.origin], env)
  t.is(second.code, 1)
  t.regex(second.stderr, /\(EADDRINUSE\): a c66-proxy is already answering there \(see `c66-proxy status`\)/)
  first.child.kill('SIGTERM')
  t.like(await first.exited, { code: 0 })
})
