// `kill -TERM <npx pid>` must not leave the proxy running. npm forwards SIGTERM/SIGINT only to
// the process it started, which for `npx c66-proxy` is `sh -c 'c66-proxy' …`; dash dies of the
// signal without passing it on, and the proxy was left orphaned and listening. Real npm, real
// processes: npx runs the package in this repository, offline, with a throw-away npm cache.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, realpathSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import test, { type ExecutionContext } from 'ava'
import { startSimulator } from '../../src/simulator/index.js'
import { cleanEnv, watchProcess } from '../helpers/cli.js'
import { tryConnect } from '../helpers/spawned-proxy.js'
import { until } from '../helpers/wait.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const NODE = realpathSync(process.execPath)

/** A process's parent id and state from /proc (Linux), or undefined once it is gone. */
function procStat(pid: number): { ppid: number; state: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so read after the last ')'.
    const [state = '', ppid = ''] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return { ppid: Number(ppid), state }
  } catch {
    return undefined
  }
}

const alive = (pid: number): boolean => {
  const s = procStat(pid)
  return s !== undefined && s.state !== 'Z'
}

/** Every process below `pid` that runs Node: the proxy (npm itself is `pid`). */
function nodeDescendants(pid: number): number[] {
  const all = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
  const below = new Set([pid])
  for (let grew = true; grew;) {
    grew = false
    for (const p of all) {
      const parent = procStat(p)?.ppid
      if (parent !== undefined && below.has(parent) && !below.has(p)) {
        below.add(p)
        grew = true
      }
    }
  }
  below.delete(pid)
  return [...below].filter((p) => {
    try {
      return readlinkSync(`/proc/${p}/exe`) === NODE
    } catch {
      return false
    }
  })
}

function scratch(t: ExecutionContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** npm, offline, with its own cache and nothing to say about funding or updates. */
function npmEnv(t: ExecutionContext, extra: Record<string, string>): NodeJS.ProcessEnv {
  return cleanEnv({
    HOME: scratch(t, 'c66-npm-home-'),
    npm_config_cache: scratch(t, 'c66-npm-cache-'),
    npm_config_offline: 'true',
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
    CLOUD66_ACCESS_TOKEN: 'sim-token',
    C66_PROXY_DATA_DIR: join(scratch(t, 'c66-npm-data-'), 'data'),
    ...extra,
  })
}

async function startedBy(t: ExecutionContext, command: string, args: readonly string[], env: NodeJS.ProcessEnv) {
  const launcher = watchProcess(t, spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] }))
  const [, url, port] = await launcher.waitFor(/listening on (http:\/\/127\.0\.0\.1:(\d+))/, 60_000)
  const proxies = nodeDescendants(launcher.child.pid ?? -1)
  // If the proxy outlives the test after all, it is stopped here, by its own pid.
  t.teardown(() => proxies.filter(alive).forEach((pid) => process.kill(pid, 'SIGKILL')))
  return { launcher, url: url ?? '', port: Number(port), proxies }
}

test('npx c66-proxy serve: SIGTERM to the npx process stops the proxy too, gracefully', async (t) => {
  t.timeout(120_000)
  const sim = await startSimulator()
  t.teardown(() => sim.close())
  const { launcher, url, port, proxies } = await startedBy(
    t,
    'npx',
    ['c66-proxy', 'serve', '--listen', '127.0.0.1:0', '--upstream', sim.url.origin],
    npmEnv(t, {}),
  )
  t.is(proxies.length, 1, 'one node process below npm: the proxy')
  const [proxy = -1] = proxies
  t.not(procStat(proxy)?.ppid, launcher.child.pid, 'npm started a shell, and the shell the proxy')
  t.is((await fetch(`${url}/-/healthz`)).status, 200)

  launcher.child.kill('SIGTERM')
  await launcher.exited
  // The proxy still holds the pipes npm gave it, so what it logs on its way out arrives here.
  await until('the proxy to say it leaves with its launcher', async () => (/"reason":"launcher_exited"/.test(launcher.stdout()) ? true : undefined))
  await until('the port to close', async () => ((await tryConnect(port)) === 'ECONNREFUSED' ? true : undefined))
  await until('the proxy process to end', async () => (alive(proxy) ? undefined : true))
  t.pass()
})

test('npm start: SIGTERM to npm reaches the proxy itself, which drains and exits', async (t) => {
  t.timeout(120_000)
  const sim = await startSimulator()
  t.teardown(() => sim.close())
  const env = npmEnv(t, { C66_PROXY_LISTEN: '127.0.0.1:0', C66_PROXY_UPSTREAM: sim.url.origin })
  const { launcher, port, proxies } = await startedBy(t, 'npm', ['start'], env)
  t.is(proxies.length, 1)
  const [proxy = -1] = proxies
  t.is(procStat(proxy)?.ppid, launcher.child.pid, 'the start script execs node: npm signals the proxy directly')
  launcher.child.kill('SIGTERM')
  await launcher.exited
  await until('the proxy to log the signal', async () => (/"signal":"SIGTERM".*"msg":"shutting down"/.test(launcher.stdout()) ? true : undefined))
  await until('the port to close', async () => ((await tryConnect(port)) === 'ECONNREFUSED' ? true : undefined))
  await until('the proxy process to end', async () => (alive(proxy) ? undefined : true))
  t.pass()
})
