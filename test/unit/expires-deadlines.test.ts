// The response timeout of every request in flight is kept by one interval timer (Deadlines): an
// armed item expires once its timeout has passed, never before; disarming or closing stops it;
// re-arming starts the timeout again. Time is a FakeClock the test moves: nothing here waits.
import test from 'ava'
import { Deadlines, checkIntervalMs, type Expiring } from '../../src/proxy/forward/deadlines.js'
import { FakeClock } from '../helpers/fake-clock.js'

interface Item extends Expiring {
  readonly name: string
}

const item = (name: string): Item => ({ name, deadlineAt: 0 })

interface Started {
  readonly d: Deadlines<Item>
  readonly clock: FakeClock
  /** What expired, and how long after the start (by the fake clock) the check that expired it ran. */
  readonly expired: Array<{ name: string; afterMs: number }>
}

function deadlines(timeoutMs: number): Started {
  const clock = new FakeClock({ start: 1_000_000 })
  const start = clock.now()
  const expired: Array<{ name: string; afterMs: number }> = []
  const d = new Deadlines<Item>(timeoutMs, (i) => expired.push({ name: i.name, afterMs: clock.now() - start }), clock)
  return { d, clock, expired }
}

for (const [timeoutMs, everyMs] of [
  [60_000, 1_000],
  [600_000, 1_000],
  [20_000, 1_000],
  [2_000, 100],
  [300, 15],
  [219, 10],
  [50, 10],
  [1, 10],
] as const) {
  test(`a timeout of ${timeoutMs} ms is checked every ${everyMs} ms (a twentieth, between 10 ms and 1 s)`, (t) => {
    t.is(checkIntervalMs(timeoutMs), everyMs)
    const { d, clock } = deadlines(timeoutMs)
    t.deepEqual(clock.repeatingEveryMs, [everyMs], 'Deadlines asks its timer for exactly that interval')
    d.close()
  })
}

test('an armed item expires once, after its timeout and not before', (t) => {
  const { d, clock, expired } = deadlines(400)
  d.arm(item('a'))
  clock.advance(50)
  t.deepEqual(expired, [], 'not at 50 ms')
  clock.advance(349)
  t.deepEqual(expired, [], 'not at 399 ms')
  clock.advance(1)
  t.deepEqual(expired, [{ name: 'a', afterMs: 400 }], 'at the first check once 400 ms have passed')
  clock.advance(10_000)
  t.is(expired.length, 1, 'and only once')
  d.close()
})

test('an item expires at the first check after its timeout, never more than one check interval late', (t) => {
  const { d, clock, expired } = deadlines(400) // checked every 20 ms
  clock.advance(5)
  d.arm(item('a')) // due at 405 ms; the checks run at 400 and 420
  clock.advance(400)
  t.deepEqual(expired, [], 'the check at 400 ms is before the deadline')
  clock.advance(15)
  t.deepEqual(expired, [{ name: 'a', afterMs: 420 }])
  d.close()
})

test('a disarmed item never expires; the others still do', (t) => {
  const { d, clock, expired } = deadlines(50)
  const kept = item('kept')
  d.arm(item('gone'))
  d.arm(kept)
  d.disarm(kept)
  clock.advance(300)
  t.deepEqual(
    expired.map((e) => e.name),
    ['gone'],
  )
  d.close()
})

test('re-arming starts the timeout again', (t) => {
  const { d, clock, expired } = deadlines(400)
  const a = item('a')
  d.arm(a)
  clock.advance(300)
  d.arm(a)
  clock.advance(150)
  t.deepEqual(expired, [], 'the first arming no longer counts (450 ms after it)')
  clock.advance(249)
  t.deepEqual(expired, [], 'not before 400 ms after the second arming')
  clock.advance(1)
  t.deepEqual(expired, [{ name: 'a', afterMs: 700 }])
  d.close()
})

test('items armed at different times expire in their own order', (t) => {
  const { d, clock, expired } = deadlines(100) // checked every 10 ms
  d.arm(item('first'))
  clock.advance(30)
  d.arm(item('second'))
  clock.advance(70)
  t.deepEqual(expired, [{ name: 'first', afterMs: 100 }])
  clock.advance(30)
  t.deepEqual(expired, [
    { name: 'first', afterMs: 100 },
    { name: 'second', afterMs: 130 },
  ])
  d.close()
})

test('after close nothing expires, and the interval check is stopped', (t) => {
  const { d, clock, expired } = deadlines(20)
  d.arm(item('a'))
  d.close()
  t.deepEqual(clock.repeatingEveryMs, [], 'close stops the interval')
  clock.advance(150)
  t.deepEqual(expired, [])
})
