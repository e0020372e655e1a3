import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort } from './ports.js'

/** What a test needs of ava's ExecutionContext (a file-level `test.before` can pass its own collector). */
export interface Teardowns {
  teardown(fn: () => unknown): void
}

export interface RedisServer {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string
  readonly port: number
  /** Stops the server (SIGTERM, then waits for it to exit). Its data is gone: it never persists. */
  stop(): Promise<void>
  /** Starts it again on the same port (after stop()). */
  start(): Promise<void>
}

const INSTALL_HINT = 'redis-server is not installed; run `apt-get install -y redis-server` (.ci/run installs it for CI)'
const READY = /Ready to accept connections/
const START_SAFETY_MS = 15_000

/**
 * A real, throwaway redis-server for one test (or one test file): 127.0.0.1 only, an ephemeral port,
 * no persistence, a temporary working directory, killed when the test ends. A machine without
 * redis-server makes the test fail with the install command; it is never skipped.
 */
export async function startRedis(t: Teardowns, extraArgs: readonly string[] = []): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), 'c66-redis-'))
  let child: ChildProcess | undefined
  let port = 0
  t.teardown(async () => {
    await kill(child)
    await rm(dir, { recursive: true, force: true })
  })

  const launch = async (): Promise<void> => {
    child = await spawnRedis(port, dir, extraArgs)
  }
  // The free port we picked can be taken by someone else before redis binds it: pick another.
  for (let attempt = 0; ; attempt++) {
    port = await freePort()
    try {
      await launch()
      break
    } catch (err) {
      if (!(err instanceof PortTaken) || attempt >= 4) throw err
    }
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: async () => {
      await kill(child)
      child = undefined
    },
    start: async () => {
      if (child !== undefined) throw new Error('redis-server is already running')
      // After stop() the port is free again (redis sets SO_REUSEADDR); another process taking it meanwhile fails the test, as it should.
      await launch()
    },
  }
}

class PortTaken extends Error {}

function spawnRedis(port: number, dir: string, extraArgs: readonly string[] = [], config?: string, ready = READY): Promise<ChildProcess> {
  const args = [
    ...(config === undefined ? [] : [config]),
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--protected-mode',
    'yes',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
    '--loglevel',
    'notice',
    ...extraArgs,
  ]
  return new Promise((resolve, reject) => {
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    const fail = (err: Error) => {
      clearTimeout(timer)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      reject(err)
    }
    const timer = setTimeout(() => fail(new Error(`redis-server did not report ready within ${START_SAFETY_MS} ms; it said:\n${output}`)), START_SAFETY_MS)
    child.on('error', (err: NodeJS.ErrnoException) => fail(err.code === 'ENOENT' ? new Error(INSTALL_HINT) : err))
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8')
      if (ready.test(output)) {
        clearTimeout(timer)
        child.stdout?.off('data', onData)
        child.stderr?.off('data', onData)
        // Keep draining its output, so a full pipe never blocks it.
        child.stdout?.resume()
        child.stderr?.resume()
        resolve(child)
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.on('exit', (code, signal) => {
      if (/Address already in use/i.test(output)) fail(new PortTaken(`port ${port} was taken`))
      else fail(new Error(`redis-server exited (code ${code}, signal ${signal}) before it was ready; it said:\n${output}`))
    })
  })
}

async function kill(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
  await exited
  clearTimeout(timer)
}

export interface RedisCluster {
  /** `redis://127.0.0.1:<port>` of the first master: where a client discovers the cluster. */
  readonly url: string
  readonly ports: readonly number[]
}

/**
 * A real Redis Cluster of `masters` nodes (no replicas), each a throwaway redis-server as above with
 * its cluster bus on a port of its own, formed with `redis-cli --cluster create` and ready when every
 * node reports `cluster_state:ok`. Every node is killed when the test ends.
 */
export async function startRedisCluster(t: Teardowns, masters = 3): Promise<RedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'c66-redis-cluster-'))
  const children: ChildProcess[] = []
  t.teardown(async () => {
    await Promise.all(children.map((child) => kill(child)))
    await rm(dir, { recursive: true, force: true })
  })
  const ports: number[] = []
  for (let i = 0; i < masters; i++) {
    for (let attempt = 0; ; attempt++) {
      const [port, busPort] = [await freePort(), await freePort()]
      try {
        const args = [
          '--cluster-enabled',
          'yes',
          '--cluster-port',
          String(busPort),
          '--cluster-config-file',
          `nodes-${port}.conf`,
          '--cluster-node-timeout',
          '5000',
        ]
        children.push(await spawnRedis(port, dir, args))
        ports.push(port)
        break
      } catch (err) {
        if (!(err instanceof PortTaken) || attempt >= 4) throw err
      }
    }
  }
  await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'])
  // Forming is gossip: poll each node until it says the cluster is ok (the deadline only stops a broken run).
  const deadline = Date.now() + START_SAFETY_MS
  for (const port of ports) {
    for (;;) {
      const info = await run('redis-cli', ['-p', String(port), 'cluster', 'info'])
      if (/cluster_state:ok/.test(info)) break
      if (Date.now() > deadline) throw new Error(`the Redis cluster did not become ready; node ${port} says:\n${info}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  return { url: `redis://127.0.0.1:${ports[0]}`, ports }
}

async function run(command: string, args: readonly string[]): Promise<string> {
  try {
    return (await promisify(execFile)(command, [...args], { timeout: START_SAFETY_MS })).stdout
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(INSTALL_HINT, { cause: err })
    throw err
  }
}

/**
 * A Redis Sentinel watching the master at `masterPort` under the name `mymaster` (quorum 1), on an
 * ephemeral port of its own; ready once it reports monitoring the master. Killed when the test ends.
 */
export async function startRedisSentinel(t: Teardowns, masterPort: number): Promise<{ port: number; name: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'c66-redis-sentinel-'))
  let child: ChildProcess | undefined
  t.teardown(async () => {
    await kill(child)
    await rm(dir, { recursive: true, force: true })
  })
  // Sentinel rewrites its configuration file, so it gets one of its own.
  const config = join(dir, 'sentinel.conf')
  await writeFile(config, `sentinel monitor mymaster 127.0.0.1 ${masterPort} 1\n`)
  for (let attempt = 0; ; attempt++) {
    const port = await freePort()
    try {
      child = await spawnRedis(port, dir, ['--sentinel'], config, /\+monitor master mymaster/)
      return { port, name: 'mymaster' }
    } catch (err) {
      if (!(err instanceof PortTaken) || attempt >= 4) throw err
    }
  }
}
