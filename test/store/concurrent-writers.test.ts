import test from 'ava'
import { systemClock } from '../../src/clock.js'
import { FileTokenStore } from '../../src/store/file-store.js'
import { keyRingFromSecrets } from '../../src/store/keys.js'
import { spawnFixture } from './_child.js'
import { newSecret, storePath } from './_file-setup.js'

const WORKERS = 3
const CALLERS_EACH = 20
const INCREMENTS_EACH = 10
const RACE_IDS = Array.from({ length: 8 }, (_, i) => `state-${i}`)

test('processes writing one store at once lose none of each other’s writes, and each one-time value is taken exactly once', async (t) => {
  t.timeout(120_000)
  const path = await storePath(t)
  const secret = newSecret()
  const store = new FileTokenStore({ path, keys: keyRingFromSecrets(secret), clock: systemClock })
  t.teardown(() => store.close())
  for (const id of RACE_IDS) await store.putOnce('race', id, `verifier-of-${id}`, 600_000)

  const workers = Array.from({ length: WORKERS }, (_, i) =>
    spawnFixture(t, 'concurrent-worker', [path, `w${i}`, String(CALLERS_EACH), RACE_IDS.join(','), String(INCREMENTS_EACH)], {
      STORE_SECRET: secret.toString('hex'),
    }),
  )
  await Promise.all(workers.map((w) => w.waitForLine(/^ready$/)))
  // Released together, so their writes, takes and locked increments overlap.
  for (const w of workers) w.send('go')
  const reports = await Promise.all(
    workers.map(async (w) => {
      const line = await w.waitForLine(/^\{/)
      t.is((await w.closed).code, 0)
      return JSON.parse(line) as { worker: string; took: Record<string, string> }
    }),
  )

  const expectedCallers = ['counter', ...workers.flatMap((_, i) => Array.from({ length: CALLERS_EACH }, (_, j) => `w${i}-c${j}`))]
  t.deepEqual(await store.listCallers(), expectedCallers.sort())
  for (let i = 0; i < WORKERS; i++) {
    for (let j = 0; j < CALLERS_EACH; j++) t.is((await store.getToken(`w${i}-c${j}`))?.accessToken.reveal(), `access-w${i}-${j}`)
  }

  for (const id of RACE_IDS) {
    const takers = reports.filter((r) => id in r.took)
    t.is(takers.length, 1, `${id} was taken by ${takers.map((r) => r.worker).join(', ') || 'nobody'}`)
    t.is(takers[0]?.took[id], `verifier-of-${id}`)
    t.is(await store.takeOnce('race', id), undefined)
  }

  // Read-modify-write under withLock across processes: no increment was lost to a race.
  t.is((await store.getToken('counter'))?.scope, String(WORKERS * INCREMENTS_EACH))
})
