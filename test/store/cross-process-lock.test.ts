import { readlinkSync } from 'node:fs'
import { readdir, stat, utimes, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { dirname, join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { StoreError } from '../../src/store/types.js'
import { spawnFixture, type FixtureChild } from './_child.js'
import { newSecret, openFileStore, ring, storePath } from './_file-setup.js'

const LOCK = 'refresh:alice'

interface Setup {
  readonly path: string
  readonly secret: Buffer
  readonly locksDir: string
}

async function setup(t: ExecutionContext): Promise<Setup> {
  const path = await storePath(t)
  return { path, secret: newSecret(), locksDir: join(dirname(path), 'locks') }
}

/** A child process that holds LOCK until it is sent a line. */
async function holder(t: ExecutionContext, { path, secret }: Setup, env: Record<string, string> = {}): Promise<FixtureChild> {
  const child = spawnFixture(t, 'hold-lock', [path, LOCK], { STORE_SECRET: secret.toString('hex'), ...env })
  await child.waitForLine(/^locked /)
  return child
}

/** The lock file of LOCK (the only named lock these tests take). */
async function lockFileOf(locksDir: string): Promise<string> {
  const names = (await readdir(locksDir)).filter((n) => n.includes('refresh_alice') && n.endsWith('.lock'))
  if (names.length !== 1 || names[0] === undefined) throw new Error(`expected one lock file, found ${names.join(', ')}`)
  return join(locksDir, names[0])
}

test('a lock held by another live process makes withLock give up with store_locked, naming the holder', async (t) => {
  const s = await setup(t)
  const child = await holder(t, s)
  const store = openFileStore(t, s.path, ring(s.secret), { lockTimeoutMs: 300 })
  const error = await t.throwsAsync(
    store.withLock(LOCK, async () => 'never'),
    { instanceOf: StoreError },
  )
  t.is(error?.code, 'store_locked')
  t.true(error?.message.includes(`pid ${child.child.pid}`), error?.message)
  t.true(error?.message.includes(s.locksDir), 'names the lock file')
  t.true(error?.message.includes(LOCK))

  child.send('release')
  await child.waitForLine(/^released$/)
  t.is(await store.withLock(LOCK, async () => 'mine now'), 'mine now')
})

test('a lock left by a killed process is taken over without waiting for it to go stale', async (t) => {
  const s = await setup(t)
  const child = await holder(t, s)
  child.child.kill('SIGKILL')
  await child.closed
  const lockFile = await lockFileOf(s.locksDir)
  // The age bound is far away: only recognising the dead pid lets this through before the wait ends.
  const store = openFileStore(t, s.path, ring(s.secret), { lockTimeoutMs: 10_000, staleLockMs: 600_000 })
  t.is(await store.withLock(LOCK, async () => 'taken over'), 'taken over')
  await t.throwsAsync(stat(lockFile), { code: 'ENOENT' }, 'released and removed afterwards')
})

test('a lock from another machine is respected while its holder refreshes it, and taken over once it stops', async (t) => {
  const s = await setup(t)
  const child = await holder(t, s)
  child.child.kill('SIGKILL')
  await child.closed
  const lockFile = await lockFileOf(s.locksDir)
  await writeFile(lockFile, JSON.stringify({ pid: 4242, host: 'some-other-host', ns: '', token: 'foreign', label: LOCK, since: Date.now() }))

  const impatient = openFileStore(t, s.path, ring(s.secret), { lockTimeoutMs: 300, staleLockMs: 60_000 })
  const error = await t.throwsAsync(
    impatient.withLock(LOCK, async () => 'never'),
    { instanceOf: StoreError },
  )
  t.is(error?.code, 'store_locked')
  t.true(error?.message.includes('some-other-host'))

  const longAgo = new Date(Date.now() - 120_000)
  await utimes(lockFile, longAgo, longAgo)
  t.is(await impatient.withLock(LOCK, async () => 'taken over'), 'taken over')
})

test('a lock left by an earlier process that had this process’s pid is taken over', async (t) => {
  const s = await setup(t)
  const child = await holder(t, s)
  child.child.kill('SIGKILL')
  await child.closed
  const lockFile = await lockFileOf(s.locksDir)
  let ns = ''
  try {
    ns = readlinkSync('/proc/self/ns/pid')
  } catch {
    // Not Linux: the store leaves the namespace empty too.
  }
  // As after a container restart, where the proxy is pid 1 every time.
  await writeFile(lockFile, JSON.stringify({ pid: process.pid, host: hostname(), ns, token: 'earlier-incarnation', label: LOCK, since: Date.now() }))
  const store = openFileStore(t, s.path, ring(s.secret), { lockTimeoutMs: 10_000, staleLockMs: 600_000 })
  t.is(await store.withLock(LOCK, async () => 'taken over'), 'taken over')
})

test('a holder working longer than the stale bound keeps its lock, because it keeps refreshing it', async (t) => {
  const s = await setup(t)
  // The holder refreshes its lock a few times per stale period; the waiter gives up after several periods.
  const child = await holder(t, s, { STORE_STALE_MS: '2000' })
  const waiter = openFileStore(t, s.path, ring(s.secret), { lockTimeoutMs: 6_000, staleLockMs: 2_000 })
  const error = await t.throwsAsync(
    waiter.withLock(LOCK, async () => 'stolen'),
    { instanceOf: StoreError },
  )
  t.is(error?.code, 'store_locked')
  child.send('release')
  await child.waitForLine(/^released$/)
})
