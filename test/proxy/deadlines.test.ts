// The response timeout of every request in flight is kept by one interval timer (Deadlines): an
// armed item expires once its timeout has passed, never before; disarming or closing stops it;
// re-arming starts the timeout again.
import test from 'ava'
import { setTimeout as sleep } from 'node:timers/promises'
import { Deadlines, checkIntervalMs, type Expiring } from '../../src/proxy/forward/deadlines.js'

interface Item extends Expiring {
  readonly name: string
}

const item = (name: string): Item => ({ name, deadlineAt: 0 })

function deadlines(timeoutMs: number): { d: Deadlines<Item>; expired: Array<{ name: string; afterMs: number }> } {
  const expired: Array<{ name: string; afterMs: number }> = []
  const start = performance.now()
  const d = new Deadlines<Item>(timeoutMs, (i) => expired.push({ name: i.name, afterMs: performance.now() - start }))
  return { d, expired }
}

test('checks run at a twentieth of the timeout, between 10 ms and 1 s', (t) => {
  t.is(checkIntervalMs(60_000), 1_000)
  t.is(checkIntervalMs(2_000), 100)
  t.is(checkIntervalMs(300), 15)
  t.is(checkIntervalMs(50), 10)
  t.is(checkIntervalMs(600_000), 1_000)
})

test('an armed item expires once, after its timeout and not before', async (t) => {
  const { d, expired } = deadlines(400)
  t.teardown(() => d.close())
  d.arm(item('a'))
  await sleep(50)
  t.deepEqual(expired, [], 'not before the timeout')
  await sleep(800)
  t.is(expired.length, 1)
  t.is(expired[0]?.name, 'a')
  t.true((expired[0]?.afterMs ?? 0) >= 400)
})

test('a disarmed item never expires; the others still do', async (t) => {
  const { d, expired } = deadlines(50)
  t.teardown(() => d.close())
  const kept = item('kept')
  d.arm(item('gone'))
  d.arm(kept)
  d.disarm(kept)
  await sleep(300)
  t.deepEqual(expired.map((e) => e.name), ['gone'])
})

test('re-arming starts the timeout again', async (t) => {
  const { d, expired } = deadlines(400)
  t.teardown(() => d.close())
  const a = item('a')
  d.arm(a)
  await sleep(300)
  d.arm(a)
  // 450 ms or more after the first arming (sleeps only run late), 250 ms before the second runs out.
  await sleep(150)
  t.deepEqual(expired, [], 'the first arming no longer counts')
  await sleep(800)
  t.deepEqual(expired.map((e) => e.name), ['a'])
  t.true((expired[0]?.afterMs ?? 0) >= 700)
})

test('after close nothing expires', async (t) => {
  const { d, expired } = deadlines(20)
  d.arm(item('a'))
  d.close()
  await sleep(150)
  t.deepEqual(expired, [])
})
