// Request counters are counted as plain numbers on the hot path and handed to prom-client when
// /-/metrics is scraped (Tally). What a scrape shows must be exactly what was counted, per label
// set, with nothing counted twice across scrapes and nothing lost between them.
import test from 'ava'
import { Counter, Registry } from 'prom-client'
import { Tally } from '../../src/metrics.js'

function counterWith(tally: Tally<'method' | 'route' | 'status'>): { registry: Registry; counter: Counter<'method' | 'route' | 'status'> } {
  const registry = new Registry()
  const counter = new Counter({
    name: 'requests_total',
    help: 'test',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
    collect() {
      tally.drainInto(this)
    },
  })
  return { registry, counter }
}

async function values(registry: Registry): Promise<Map<string, number>> {
  const [metric] = await registry.getMetricsAsJSON()
  return new Map((metric?.values ?? []).map((v) => [`${v.labels['method']} ${v.labels['route']} ${v.labels['status']}`, v.value]))
}

test('each label set is counted on its own, and a scrape shows the counts', async (t) => {
  const tally = new Tally('method', 'route', 'status')
  const { registry } = counterWith(tally)
  for (let i = 0; i < 3; i++) tally.add('GET', '/stacks', 200)
  tally.add('GET', '/stacks', 404)
  tally.add('POST', '/stacks', 200)
  tally.add('GET', 'other', 200)
  t.deepEqual(
    await values(registry),
    new Map([
      ['GET /stacks 200', 3],
      ['GET /stacks 404', 1],
      ['POST /stacks 200', 1],
      ['GET other 200', 1],
    ]),
  )
})

test('counts between scrapes are added once: a second scrape does not double them, later requests are added', async (t) => {
  const tally = new Tally('method', 'route', 'status')
  const { registry } = counterWith(tally)
  tally.add('GET', '/stacks', 200)
  tally.add('GET', '/stacks', 200)
  t.is((await values(registry)).get('GET /stacks 200'), 2)
  t.is((await values(registry)).get('GET /stacks 200'), 2, 'a scrape with nothing new changes nothing')
  tally.add('GET', '/stacks', 200)
  t.is((await values(registry)).get('GET /stacks 200'), 3)
})

test('the same values in different label positions are different series', async (t) => {
  const tally = new Tally('method', 'route', 'status')
  const { registry } = counterWith(tally)
  tally.add('GET', '200', 404)
  tally.add('GET', '404', 200)
  const seen = await values(registry)
  t.is(seen.get('GET 200 404'), 1)
  t.is(seen.get('GET 404 200'), 1)
})
