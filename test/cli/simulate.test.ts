import test from 'ava'
import { startCli } from '../helpers/cli.js'

test('simulate --listen 127.0.0.1:0 prints its URL and serves the Cloud 66 API there', async (t) => {
  const sim = startCli(t, ['simulate', '--listen', '127.0.0.1:0'])
  const [, url] = await sim.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/)
  const res = await fetch(`${url}/api/3/stacks`, { headers: { authorization: 'Bearer sim-token' } })
  t.is(res.status, 200)
  const body = (await res.json()) as { response: Array<{ uid: string }>; count: number }
  t.true(body.response.length > 0)
  const denied = await fetch(`${url}/api/3/stacks`)
  t.is(denied.status, 401)
  sim.child.kill('SIGTERM')
  t.like(await sim.exited, { code: 0 })
})
