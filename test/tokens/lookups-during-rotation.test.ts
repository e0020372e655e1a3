import { renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'ava'
import { ALL_SCOPES, startSimulator } from '../../src/simulator/index.js'
import { startProxy } from '../helpers/proxy.js'
import { tempHome } from '../helpers/token-files.js'

test('requests that arrive while the token file is being replaced all succeed, with one token or the other', async (t) => {
  const sim = await startSimulator({ tokens: { 'tok-a': ALL_SCOPES, 'tok-b': ALL_SCOPES } })
  t.teardown(() => sim.close())
  const home = tempHome(t)
  const tokenFile = join(home.scratch, 'token')
  writeFileSync(tokenFile, 'tok-a')
  const proxy = await startProxy(t, { upstream: sim.url, env: { HOME: home.home }, flags: { tokenFile } })

  // Replace the file (atomically, so no read can see it half-written) as fast as the event loop
  // allows, while requests keep arriving: each replacement is a change notification that lands
  // in the middle of some token lookup.
  let replacements = 0
  const staged = join(home.scratch, 'token.tmp')
  const rotator = setInterval(() => {
    for (let i = 0; i < 3; i++) {
      writeFileSync(staged, replacements++ % 2 === 0 ? 'tok-b' : 'tok-a')
      renameSync(staged, tokenFile)
    }
  }, 1)
  t.teardown(() => clearInterval(rotator))

  const statuses = new Map<number, number>()
  for (let round = 0; round < 100; round++) {
    const batch = await Promise.all(
      Array.from({ length: 5 }, async () => {
        const res = await fetch(`${proxy.url}/stacks`)
        await res.arrayBuffer()
        return res.status
      }),
    )
    for (const status of batch) statuses.set(status, (statuses.get(status) ?? 0) + 1)
  }
  clearInterval(rotator)

  t.deepEqual([...statuses], [[200, 500]])
  t.deepEqual(
    proxy.logs.filter((line) => line.includes('"internal error"')),
    [],
  )
  const tokens = new Set(sim.requests.map((r) => r.token))
  t.deepEqual([...tokens].sort(), ['tok-a', 'tok-b'])
})
