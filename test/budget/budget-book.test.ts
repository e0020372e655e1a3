// The hourly budget's arithmetic, with a clock the test moves: how the window is aligned (the
// clock hour, UTC), when the proxy refuses on its own count, what Cloud 66's hints change, and
// how a hold after a real `503 throttled` ends.
import test from 'ava'
import { BudgetBook, HOUR_MS, PROBE_EVERY_MS, windowOf } from '../../src/budget/budget-book.js'
import { FakeClock } from '../helpers/fake-clock.js'

const T0 = Date.UTC(2026, 11, 6, 10, 0, 0) // 10:00:00.000 UTC
const hints = (limit: number, remaining: number) => ['X-RateLimit-Limit', String(limit), 'X-RateLimit-Remaining', String(remaining)]

function spend(book: BudgetBook, id: string, n: number, headers: string[] = []): void {
  for (let i = 0; i < n; i++) {
    const meter = book.meter(id)
    meter.sent()
    meter.answered(200, headers)
  }
}

test('the window is the clock hour in UTC: 10:59:59.999 is in the 10:00 window, 11:00:00.000 starts the next', (t) => {
  t.is(windowOf(T0 + HOUR_MS - 1), T0)
  t.is(windowOf(T0 + HOUR_MS), T0 + HOUR_MS)
  t.is(windowOf(T0 + 90 * 60_000), T0 + HOUR_MS)
})

test('spending the configured budget refuses the next request until the hour ends; the next hour starts afresh', (t) => {
  const clock = new FakeClock({ start: T0 + 59 * 60_000 + 30_000 }) // 10:59:30
  const book = new BudgetBook(clock, 3)
  spend(book, 'a', 3)
  t.deepEqual(book.check('a'), { why: 'spent', retryAfterSeconds: 30, windowEnd: T0 + HOUR_MS })
  t.is(book.check('b'), undefined, 'another identity has its own budget')
  clock.advance(29_999)
  t.is(book.check('a')?.retryAfterSeconds, 1, 'Retry-After rounds up and is never 0')
  clock.advance(1) // 11:00:00.000
  t.is(book.check('a'), undefined)
  t.is(book.view('a').used, 0)
  t.is(book.view('a').remaining, 3)
})

test('the cap is never probed past: with no word from Cloud 66 nothing goes until the hour ends', (t) => {
  const clock = new FakeClock({ start: T0 })
  const book = new BudgetBook(clock, 2)
  spend(book, 'a', 2)
  for (let minute = 0; minute < 59; minute++) {
    clock.advance(PROBE_EVERY_MS)
    t.truthy(book.check('a'), `minute ${minute + 1}`)
  }
})

test("Cloud 66's X-RateLimit-Remaining 0 refuses before the cap; a remaining above 0 never lifts the cap", (t) => {
  const clock = new FakeClock({ start: T0 })
  const book = new BudgetBook(clock, 3000)
  spend(book, 'a', 1, hints(3600, 0))
  t.is(book.check('a')?.why, 'spent', 'other tools of the same user spent it')
  t.is(book.view('a').remaining, 0)
  t.deepEqual(book.view('a').hint, { limit: 3600, remaining: 0, at: T0 })

  const capped = new BudgetBook(clock, 2)
  spend(capped, 'b', 2, hints(3600, 3598))
  t.is(capped.check('b')?.why, 'spent')
  t.is(capped.view('b').remaining, 0, 'the lower of the two')
  const uncapped = new BudgetBook(clock, undefined)
  spend(uncapped, 'c', 5000)
  t.is(uncapped.check('c'), undefined, '--upstream-budget off counts without refusing')
  t.is(uncapped.view('c').used, 5000)
  t.is(uncapped.view('c').remaining, undefined)
})

test('after a real 503 throttled the identity is held, one probe a minute goes through, and a normal answer ends the hold', (t) => {
  const clock = new FakeClock({ start: T0 + 10 * 60_000 })
  const book = new BudgetBook(clock, 3000)
  const first = book.meter('a')
  first.sent()
  first.answered(503, [])
  first.throttled()
  t.deepEqual(book.check('a'), { why: 'throttled', retryAfterSeconds: 50 * 60, windowEnd: T0 + HOUR_MS })
  clock.advance(PROBE_EVERY_MS - 1)
  t.truthy(book.check('a'))
  clock.advance(1)
  t.is(book.check('a'), undefined, 'the probe goes')
  t.truthy(book.check('a'), 'only one per minute')
  // The probe is throttled again: the hold goes on.
  const probe = book.meter('a')
  probe.sent()
  probe.answered(503, [])
  probe.throttled()
  t.truthy(book.check('a'))
  clock.advance(PROBE_EVERY_MS)
  t.is(book.check('a'), undefined)
  // This probe is answered: Cloud 66's window had moved on. Everything goes again.
  const ok = book.meter('a')
  ok.sent()
  ok.answered(200, hints(3000, 2990))
  t.is(book.check('a'), undefined)
  t.is(book.check('a'), undefined)
  t.is(book.view('a').refusing, undefined)
})

test('a hold never outlasts the window', (t) => {
  const clock = new FakeClock({ start: T0 + 59 * 60_000 })
  const book = new BudgetBook(clock, 3000)
  const m = book.meter('a')
  m.sent()
  m.throttled()
  t.truthy(book.check('a'))
  clock.advance(60_000)
  t.is(book.check('a'), undefined)
  t.is(book.view('a').refusing, undefined)
})

test('hints that are not numbers are no hints', (t) => {
  const book = new BudgetBook(new FakeClock({ start: T0 }), 3000)
  spend(book, 'a', 1, ['X-RateLimit-Remaining', '-1', 'X-RateLimit-Limit', 'lots'])
  spend(book, 'b', 1, ['X-RateLimit-Remaining', '1e3'])
  t.is(book.view('a').hint, undefined)
  t.is(book.view('b').hint, undefined)
  t.is(book.check('a'), undefined)
})
