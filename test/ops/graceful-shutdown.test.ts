import test, { type ExecutionContext } from 'ava'
import { startSimulator, type Simulator } from '../../src/simulator/index.js'
import { spawnProxy, streamGet, tryConnect } from '../helpers/spawned-proxy.js'
import { nextRecord, until } from '../helpers/wait.js'

const SLOW = '/api/3/slow?chunks=5&interval_ms=200'

async function simulator(t: ExecutionContext): Promise<Simulator> {
  const sim = await startSimulator()
  t.teardown(() => sim.close())
  return sim
}

function expectFullSlowBody(t: ExecutionContext, outcome: { body: string; complete: boolean; error: unknown }): void {
  t.is(outcome.error, undefined)
  t.true(outcome.complete, 'the response ended cleanly')
  t.deepEqual(
    JSON.parse(outcome.body),
    [0, 1, 2, 3, 4].map((chunk) => ({ chunk, of: 5 })),
  )
}

test('on SIGTERM an in-flight request completes in full, new connections are refused, and the process exits 0', async (t) => {
  const sim = await simulator(t)
  const proxy = await spawnProxy(t, sim.url, ['--shutdown-grace', '50s'], { CLOUD66_ACCESS_TOKEN: 'sim-token' })
  const slow = streamGet(`${proxy.url}${SLOW}`)
  await slow.firstChunk
  // A second request that never ends keeps the process alive (for the long grace) while
  // the test checks that the listener is closed, so "refused" cannot mean "already exited".
  const hangRecorded = nextRecord(sim, (r) => r.url.startsWith('/api/3/hang'))
  const hang = streamGet(`${proxy.url}/api/3/hang`)
  await hangRecorded

  proxy.cli.child.kill('SIGTERM')
  const refused = await until('the listener to close', async () => ((await tryConnect(proxy.port)) === 'ECONNREFUSED' ? true : undefined))
  t.true(refused)
  t.is(proxy.cli.child.exitCode, null, 'still running: two requests are in flight')

  expectFullSlowBody(t, await slow.done)
  t.is(proxy.cli.child.exitCode, null, 'still running: the hung request is in flight')
  hang.req.destroy()
  t.deepEqual(await proxy.cli.exited, { code: 0, signal: null })
})

test('on SIGINT an in-flight request completes in full and the process exits 0', async (t) => {
  const sim = await simulator(t)
  const proxy = await spawnProxy(t, sim.url, [], { CLOUD66_ACCESS_TOKEN: 'sim-token' })
  const slow = streamGet(`${proxy.url}${SLOW}`)
  await slow.firstChunk
  proxy.cli.child.kill('SIGINT')
  expectFullSlowBody(t, await slow.done)
  t.deepEqual(await proxy.cli.exited, { code: 0, signal: null })
  t.is(await tryConnect(proxy.port), 'ECONNREFUSED')
})

test('log lines still buffered when the process exits are written out, none lost or cut', async (t) => {
  const sim = await simulator(t)
  const proxy = await spawnProxy(t, sim.url, [], { CLOUD66_ACCESS_TOKEN: 'sim-token' })
  // Stdout is buffered (4 KiB or 250 ms) and request lines are batched: a signal right after the
  // answers must still find every line on stdout, each a whole JSON object.
  const ids = ['exit-1', 'exit-2', 'exit-3']
  for (const id of ids) {
    const res = await fetch(`${proxy.url}/api/3/stacks.json`, { headers: { 'request-id': id } })
    t.is(res.status, 200)
    await res.arrayBuffer()
  }
  proxy.cli.child.kill('SIGINT')
  t.deepEqual(await proxy.cli.exited, { code: 0, signal: null })
  const lines = proxy.cli
    .stdout()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
  for (const id of ids) t.is(lines.filter((l) => l['msg'] === 'request' && l['request_id'] === id).length, 1, id)
  t.true(
    lines.some((l) => l['msg'] === 'shutting down'),
    'the shutdown line too',
  )
})

test('with a hung upstream request and --shutdown-grace 300ms the process still exits 0, cutting that request off', async (t) => {
  const sim = await simulator(t)
  const proxy = await spawnProxy(t, sim.url, ['--shutdown-grace', '300ms'], { CLOUD66_ACCESS_TOKEN: 'sim-token' })
  const recorded = nextRecord(sim, (r) => r.url.startsWith('/api/3/hang'))
  const hang = streamGet(`${proxy.url}/api/3/hang`)
  await recorded
  proxy.cli.child.kill('SIGTERM')
  t.deepEqual(await proxy.cli.exited, { code: 0, signal: null })
  const outcome = await hang.done
  t.false(outcome.complete, 'the caller sees a failed request, not an answer')
  t.truthy(outcome.error)
})

test('a hung response that already started streaming is cut after the grace too, never ended as if complete', async (t) => {
  const sim = await simulator(t)
  const proxy = await spawnProxy(t, sim.url, ['--shutdown-grace', '300ms'], { CLOUD66_ACCESS_TOKEN: 'sim-token' })
  const hang = streamGet(`${proxy.url}/api/3/hang?after_headers=1`)
  await hang.firstChunk
  proxy.cli.child.kill('SIGTERM')
  t.deepEqual(await proxy.cli.exited, { code: 0, signal: null })
  const outcome = await hang.done
  t.false(outcome.complete)
  t.is(outcome.body, '{"response":[')
})
