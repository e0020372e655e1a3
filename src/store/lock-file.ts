import { randomBytes } from 'node:crypto'
import { readlinkSync } from 'node:fs'
import { link, readFile, readdir, rename, stat, unlink, utimes, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { errnoCode } from './fs-safety.js'
import { KeyedMutex, MutexTimeout } from './mutex.js'
import { StoreError } from './types.js'

/**
 * A cross-process lock: a file that exists while someone holds the lock.
 *
 * Why not proper-lockfile: it detects a dead holder only by the age of its lock (10 s by default),
 * so every crash would stall the next writer for that long, and it throws from a timer when it thinks
 * its lock was compromised. Here the holder is known by pid, host and pid namespace, so a lock left by
 * a killed process on this machine is taken over at once; the age bound (the holder refreshes the
 * file's mtime while it works) covers holders we cannot see, such as another container on a shared
 * volume, and a pid reused by an unrelated process.
 *
 * Acquiring: write our identity to a private temp file, then link() it to the lock name. link() fails
 * if the name exists, so exactly one process wins, and the lock file is complete from its first
 * instant (no reader sees an empty one). Within one process a KeyedMutex queues the callers first,
 * so a process never races itself.
 */

interface LockInfo {
  readonly pid: number
  readonly host: string
  /** The pid namespace (Linux): the same pid in another container is another process. */
  readonly ns: string
  readonly token: string
  readonly label: string
  readonly since: number
}

interface SeenLock {
  readonly info: LockInfo | undefined
  readonly ino: number
  readonly mtimeMs: number
}

export interface FileLockOptions {
  /** How long to wait for the lock before giving up with `store_locked`. */
  readonly timeoutMs: number
  /** A lock whose holder has not refreshed it for this long is taken over. */
  readonly staleMs: number
}

const HOST = hostname()
const PID_NAMESPACE = readPidNamespace()
/** Tokens of the locks this process holds, to tell our own live locks from a previous incarnation's. */
const heldTokens = new Set<string>()
const localQueue = new KeyedMutex()
const sweptDirs = new Set<string>()
/** Far longer than any acquirer waits, so a temp file still in use is never swept. */
const LEFTOVER_AGE_MS = 60 * 60 * 1000

/** Runs `work` while holding the lock file `lockPath`, exclusively across processes and within this one. */
export async function withFileLock<T>(lockPath: string, label: string, options: FileLockOptions, work: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + options.timeoutMs
  let freeLocal: () => void
  try {
    freeLocal = await localQueue.acquire(lockPath, options.timeoutMs)
  } catch (err) {
    if (!(err instanceof MutexTimeout)) throw err
    throw lockedError(label, lockPath, options.timeoutMs, `held by this process (pid ${process.pid})`)
  }
  try {
    const release = await acquire(lockPath, label, deadline, options)
    try {
      return await work()
    } finally {
      await release()
    }
  } finally {
    freeLocal()
  }
}

async function acquire(lockPath: string, label: string, deadline: number, options: FileLockOptions): Promise<() => Promise<void>> {
  const me: LockInfo = { pid: process.pid, host: HOST, ns: PID_NAMESPACE, token: randomBytes(8).toString('hex'), label, since: Date.now() }
  const temp = `${lockPath}.${me.token}.tmp`
  try {
    await writeFile(temp, JSON.stringify(me), { mode: 0o600, flag: 'wx' })
  } catch (err) {
    throw new StoreError('store_unavailable', `Cannot create a lock file in ${dirname(lockPath)} (${errnoCode(err)}).`, { cause: err })
  }
  heldTokens.add(me.token)
  let acquired = false
  try {
    for (let attempt = 0; ; attempt++) {
      if (await tryLink(temp, lockPath, me)) {
        acquired = true
        break
      }
      const seen = await inspect(lockPath)
      const left = deadline - Date.now()
      if (left <= 0) throw lockedError(label, lockPath, options.timeoutMs, describeHolder(seen?.info))
      // A lock that vanished, or one we just broke: try again at once.
      if (seen === undefined) continue
      if (isStale(seen, options.staleMs)) await breakStale(lockPath, seen)
      else await sleep(Math.min(left, backoff(attempt)))
    }
  } finally {
    await unlink(temp).catch(() => undefined)
    if (!acquired) heldTokens.delete(me.token)
  }
  void sweepOldTemps(dirname(lockPath))
  // Refresh the mtime while we hold it, so a long `work` is not mistaken for a dead holder.
  const heartbeat = setInterval(
    () => {
      const now = new Date()
      utimes(lockPath, now, now).catch(() => undefined)
    },
    Math.max(50, Math.floor(options.staleMs / 3)),
  )
  heartbeat.unref()
  return async () => {
    clearInterval(heartbeat)
    heldTokens.delete(me.token)
    // Best effort: a lock we fail to remove is taken over once it is stale, and the work's own
    // outcome matters more to the caller than this.
    try {
      const seen = await inspect(lockPath)
      // Only remove our own lock: if it was taken over meanwhile, the file is someone else's now.
      if (seen?.info?.token === me.token) await unlink(lockPath)
    } catch {
      // See above.
    }
  }
}

/** File systems without hard links (some network and container mounts) fall back to O_EXCL. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'])

async function tryLink(temp: string, lockPath: string, me: LockInfo): Promise<boolean> {
  try {
    await link(temp, lockPath)
    return true
  } catch (err) {
    const code = errnoCode(err)
    if (code === 'EEXIST') return false
    if (!NO_HARD_LINKS.has(code)) throw new StoreError('store_unavailable', `Cannot create the lock file ${lockPath} (${code}).`, { cause: err })
  }
  try {
    // Others may briefly see it empty; an unreadable lock is judged by its age, so that is safe.
    await writeFile(lockPath, JSON.stringify(me), { mode: 0o600, flag: 'wx' })
    return true
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') return false
    throw new StoreError('store_unavailable', `Cannot create the lock file ${lockPath} (${errnoCode(err)}).`, { cause: err })
  }
}

async function inspect(path: string): Promise<SeenLock | undefined> {
  try {
    const info = await stat(path)
    const text = await readFile(path, 'utf8')
    return { info: parseInfo(text), ino: info.ino, mtimeMs: info.mtimeMs }
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined
    throw new StoreError('store_unavailable', `Cannot read the lock file ${path} (${errnoCode(err)}).`, { cause: err })
  }
}

function parseInfo(text: string): LockInfo | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockInfo>
    if (typeof value.pid === 'number' && typeof value.host === 'string' && typeof value.token === 'string') {
      return {
        pid: value.pid,
        host: value.host,
        ns: String(value.ns ?? ''),
        token: value.token,
        label: String(value.label ?? ''),
        since: Number(value.since ?? 0),
      }
    }
  } catch {
    // Not ours, or damaged: judged by age alone.
  }
  return undefined
}

function isStale(seen: SeenLock, staleMs: number): boolean {
  if (Date.now() - seen.mtimeMs > staleMs) return true
  const holder = seen.info
  if (holder === undefined || holder.host !== HOST || holder.ns !== PID_NAMESPACE) return false
  // Our own pid but not a lock we hold: left by an earlier process that had the same pid (containers restart as pid 1).
  if (holder.pid === process.pid) return !heldTokens.has(holder.token)
  return !isAlive(holder.pid)
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return errnoCode(err) === 'EPERM'
  }
}

/**
 * Removes a stale lock only if it is still the one we judged stale: rename it aside first (atomic),
 * then look. If a live holder's lock got moved by mistake, it is linked back unless the name was taken.
 */
async function breakStale(lockPath: string, seen: SeenLock): Promise<void> {
  const aside = `${lockPath}.${randomBytes(6).toString('hex')}.stale`
  try {
    await rename(lockPath, aside)
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return
    throw new StoreError('store_unavailable', `Cannot remove the stale lock file ${lockPath} (${errnoCode(err)}).`, { cause: err })
  }
  const moved = await inspect(aside)
  if (moved !== undefined && (moved.ino !== seen.ino || moved.info?.token !== seen.info?.token)) {
    await link(aside, lockPath).catch(() => undefined)
  }
  await unlink(aside).catch(() => undefined)
}

/** Temp files of acquirers killed between writing and linking: harmless, but tidied once per process. */
async function sweepOldTemps(dir: string): Promise<void> {
  if (sweptDirs.has(dir)) return
  sweptDirs.add(dir)
  try {
    for (const name of await readdir(dir)) {
      if (!name.endsWith('.tmp') && !name.endsWith('.stale')) continue
      const path = join(dir, name)
      const info = await stat(path).catch(() => undefined)
      if (info !== undefined && Date.now() - info.mtimeMs > LEFTOVER_AGE_MS) await unlink(path).catch(() => undefined)
    }
  } catch {
    // Tidying is best effort.
  }
}

function backoff(attempt: number): number {
  return Math.min(100, 5 * 2 ** attempt) + Math.random() * 10
}

function describeHolder(info: LockInfo | undefined): string {
  if (info === undefined) return 'held by an unknown process'
  return `held by pid ${info.pid} on ${info.host} since ${new Date(info.since).toISOString()}`
}

function lockedError(label: string, lockPath: string, timeoutMs: number, holder: string): StoreError {
  return new StoreError(
    'store_locked',
    `Gave up after ${timeoutMs} ms waiting for the token store lock "${label}" (${lockPath}), ${holder}. If no c66-proxy process is using the store, delete that lock file.`,
  )
}

function readPidNamespace(): string {
  try {
    return readlinkSync('/proc/self/ns/pid')
  } catch {
    return ''
  }
}
