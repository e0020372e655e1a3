// Forwarding contract, part 8: the proxy keeps a keep-alive pool to Cloud 66. Callers may open a
// new connection per request (curl does), but the upstream sees its TCP connections reused:
// without the pool every request pays a fresh TCP (and, for real, TLS) handshake.
import test from 'ava'
import { startProxy } from '../helpers/proxy.js'
import { SIM_TOKEN, recorded, send, startSim } from '../helpers/forwarding.js'

test('20 sequential requests reach the upstream over far fewer TCP connections', async (t) => {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  let connections = 0
  sim.server.on('connection', () => (connections += 1))
  for (let i = 0; i < 20; i++) {
    // A fresh caller connection each time: only the proxy's own pool can reuse anything.
    const reply = await send(`${proxy.url}/stacks.json?page=${(i % 2) + 1}`)
    t.is(reply.status, 200)
  }
  t.is((await recorded(sim, 20)).length, 20)
  t.true(connections >= 1)
  t.true(connections <= 2, `20 requests used ${connections} upstream connections`)
})

test('requests with bodies and failed answers also return their connection to the pool', async (t) => {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  let connections = 0
  sim.server.on('connection', () => (connections += 1))
  for (let i = 0; i < 5; i++) {
    t.is((await send(`${proxy.url}/api/3/echo`, { method: 'POST', body: `body ${i}`, headers: { 'content-type': 'text/plain' } })).status, 200)
    t.is((await send(`${proxy.url}/stacks/no-such-stack.json`)).status, 404)
    t.is((await send(`${proxy.url}/status/500`)).status, 500)
  }
  t.is((await recorded(sim, 15)).length, 15)
  t.true(connections <= 2, `15 requests used ${connections} upstream connections`)
})
