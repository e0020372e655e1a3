import { readdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import test from 'ava'
import { systemClock } from '../../src/clock.js'
import { FileTokenStore } from '../../src/store/file-store.js'
import { keyRingFromSecrets } from '../../src/store/keys.js'
import { spawnFixture } from './_child.js'
import { newSecret, storePath } from './_file-setup.js'
import { bareToken } from './_tokens.js'

const ROUNDS = 25
/** Kills land anywhere from the first write to a few dozen writes in. */
const MAX_KILL_DELAY_MS = 40

/** The sequence number a record carries; 0 while the writer has not written it yet. */
const seqOf = (token: { accessToken: { reveal(): string } } | undefined) =>
  token === undefined ? 0 : Number(token.accessToken.reveal().replace('access-seq-', ''))
const numbersAfter = (lines: readonly string[], word: string) => lines.filter((l) => l.startsWith(`${word} `)).map((l) => Number(l.slice(word.length + 1)))

test('a writer killed at random moments always leaves a readable store holding the old or the new value', async (t) => {
  t.timeout(180_000)
  const path = await storePath(t)
  const secret = newSecret()
  const keys = keyRingFromSecrets(secret)
  const open = () => new FileTokenStore({ path, keys, clock: systemClock, lockTimeoutMs: 20_000 })

  // Records the writer never touches must come through every crash unchanged.
  const setup = open()
  await setup.putToken('bystander', bareToken('access-bystander'))
  await setup.putOnce('login', 'pending', 'verifier-pending', 3_600_000)
  await setup.close()

  let held = { counter: 0, mirror: 0 }
  let leftoversSeen = 0
  let killedHoldingLock = 0
  for (let round = 0; round < ROUNDS; round++) {
    // Resume where the last writer stopped: finish its pair, or start the next number.
    const start = held.mirror === held.counter ? held.counter + 1 : held.counter
    const writer = spawnFixture(t, 'writer', [path, String(start)], { STORE_SECRET: secret.toString('hex') })
    await writer.waitForLine(/^writing /)
    await sleep(Math.random() * MAX_KILL_DELAY_MS)
    writer.child.kill('SIGKILL')
    const { signal } = await writer.closed
    t.is(signal, 'SIGKILL')

    // The writer says each line synchronously, so its last words bound what the store may hold.
    const acked = Math.max(held.counter, ...numbersAfter(writer.lines(), 'acked'))
    const writing = Math.max(acked, ...numbersAfter(writer.lines(), 'writing'))

    if ((await readdir(dirname(path))).some((n) => n.endsWith('.tmp'))) leftoversSeen++
    if ((await readdir(join(dirname(path), 'locks'))).some((n) => n.endsWith('.write.lock'))) killedHoldingLock++

    const store = open()
    await store.check()
    const counter = seqOf(await store.getToken('counter'))
    const mirror = seqOf(await store.getToken('mirror'))
    t.is((await store.getToken('bystander'))?.accessToken.reveal(), 'access-bystander', `round ${round}: the bystander record`)
    await store.close()
    t.true(counter === acked || counter === writing, `round ${round}: counter ${counter}, writer acked ${acked}, was writing ${writing}`)
    // `mirror` is written right after `counter`, so it is never ahead and at most one behind.
    t.true(mirror === counter || mirror === counter - 1, `round ${round}: mirror ${mirror}, counter ${counter}`)
    t.true(counter >= held.counter && mirror >= held.mirror, `round ${round}: a value went backwards`)
    held = { counter, mirror }
  }
  t.log(`${ROUNDS} kills: ${leftoversSeen} left a temp file, ${killedHoldingLock} left the write lock held by a dead process`)

  // A later writer takes over the dead writers' lock, tidies their temp files, and nothing was lost.
  const after = open()
  t.teardown(() => after.close())
  await after.putToken('survivor', bareToken('access-survivor'))
  t.deepEqual(
    (await readdir(dirname(path))).filter((n) => n.endsWith('.tmp')),
    [],
  )
  t.is((await after.getToken('bystander'))?.accessToken.reveal(), 'access-bystander')
  t.is(await after.takeOnce('login', 'pending'), 'verifier-pending')
  t.deepEqual(await after.listCallers(), ['bystander', 'counter', 'mirror', 'survivor'])
})
