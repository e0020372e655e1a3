// The things under test. Every target but `direct` is a process pinned to core 0 with a clean
// environment (a bearer token and an empty HOME, nothing inherited from the shell or npm).
import type { ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { freePort, runCommand, spawnTracked, stopChild, waitForPort } from './procs.js'

export const TOKEN = 'bench-token'
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))
const BENCH_DIR = fileURLToPath(new URL('./', import.meta.url))
export const TARGET_CORE = '0'
export const LOAD_CORE = '1'

/**
 * A fingerprint of dist/ (names, sizes, mtimes). Other people may rebuild the checkout during a
 * run; the report says so when the c66-proxy targets did not all run the same build.
 */
export function buildFingerprint(): string {
  const hash = createHash('sha1')
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, entry.name)
      if (entry.isDirectory()) walk(full)
      else if (entry.name.endsWith('.js')) {
        const st = statSync(full)
        hash.update(`${full}\0${st.size}\0${st.mtimeMs}\n`)
      }
    }
  }
  try {
    walk(path.join(REPO_ROOT, 'dist'))
  } catch {
    return 'missing'
  }
  return hash.digest('hex').slice(0, 12)
}

export interface TargetContext {
  readonly upstreamPort: number
  /** An empty directory used as HOME, so no cx token file on this machine is picked up. */
  readonly home: string
  /** Extra node flags for the target process (used by --profile). */
  readonly nodeFlags?: readonly string[]
}

export interface RunningTarget {
  readonly name: string
  readonly port: number
  /** The process whose CPU and memory are measured; undefined for `direct`. */
  readonly pid: number | undefined
  /** Header the load generator must send itself (only `direct`, which has no proxy to add it). */
  readonly clientAuth: string | undefined
  stop(): Promise<void>
}

export interface TargetSpec {
  readonly name: string
  readonly description: string
  /** Needs `npm run build` to have succeeded. */
  readonly needsBuild: boolean
  start(ctx: TargetContext): Promise<RunningTarget>
}

const targetEnv = (ctx: TargetContext): NodeJS.ProcessEnv => ({
  PATH: process.env['PATH'] ?? '/usr/bin:/bin',
  HOME: ctx.home,
  CLOUD66_ACCESS_TOKEN: TOKEN,
  ...productLaunch().env,
})

/**
 * How the product is launched: the first line of dist/main.js, `#!/usr/bin/env -S [NAME=VALUE …]
 * node <flags>` (npm start and the Docker image use the same, see test/ops/launchers-agree).
 * Every Node target gets the same settings and flags, node-pipe included, so the comparison is
 * of code on the same runtime.
 */
export function productLaunch(): { env: Record<string, string>; flags: string[] } {
  let first: string
  try {
    first = readFileSync(path.join(REPO_ROOT, 'dist/main.js'), 'utf8').split('\n', 1)[0] ?? ''
  } catch {
    return { env: {}, flags: [] }
  }
  const m = /^#!\/usr\/bin\/env -S((?: [A-Z_]+=\S+)*) node(.*)$/.exec(first)
  const words = (s: string | undefined) => (s ?? '').trim().split(/\s+/).filter(Boolean)
  const env = Object.fromEntries(words(m?.[1]).map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]))
  return { env, flags: words(m?.[2]) }
}

/** Starts `node <args>` on the target core and waits for its port; explains an early death. */
async function startNode(
  name: string,
  ctx: TargetContext,
  scriptArgs: (port: number) => string[],
  stopSignal: NodeJS.Signals = 'SIGTERM',
): Promise<RunningTarget> {
  const port = await freePort()
  const args = ['-c', TARGET_CORE, process.execPath, ...productLaunch().flags, ...(ctx.nodeFlags ?? []), ...scriptArgs(port)]
  const child: ChildProcess = spawnTracked('taskset', args, { cwd: REPO_ROOT, env: targetEnv(ctx), stdio: 'ignore' })
  try {
    await waitForPort(port, 15_000, child)
  } catch (err) {
    await stopChild(child, 'SIGKILL')
    // stdout/stderr go to /dev/null in the measured run; run it once more briefly to say why it died.
    const probe = await runCommand(process.execPath, [...productLaunch().flags, ...scriptArgs(port)], { timeoutMs: 3_000, cwd: REPO_ROOT, env: targetEnv(ctx) })
    const why = (probe.stderr || probe.stdout).trim().split('\n').slice(-6).join('\n')
    throw new Error(`${name} did not start: ${(err as Error).message}${why ? `\n${why}` : ''}`, { cause: err })
  }
  if (child.pid === undefined) throw new Error(`${name}: no pid`)
  return {
    name,
    port,
    pid: child.pid,
    clientAuth: undefined,
    stop: () => stopChild(child, stopSignal, 12_000),
  }
}

/**
 * `serve` of the build in `root`. The bench upstream is not Cloud 66: its hourly budget
 * (--upstream-budget, 3,000 requests) would refuse all but the first seconds of a load run, and
 * coalescing would answer some of W1's identical concurrent GETs with copies, so the forwarding
 * cost compared with node-pipe is measured with both off unless `extra` turns one on. A build
 * older than those settings ignores nothing: it is given only the flags it knows.
 */
function productArgs(root: string, port: number, ctx: TargetContext, logLevel: string, extra: readonly string[] = []): string[] {
  const main = path.join(root, 'dist/main.js')
  const knows = (flag: string) => readFileSync(path.join(root, 'dist/config/settings.js'), 'utf8').includes(`'${flag}'`)
  const off = [
    ...(knows('--coalesce') && !extra.includes('--coalesce') ? ['--coalesce', 'off'] : []),
    ...(knows('--upstream-budget') ? ['--upstream-budget', 'off'] : []),
  ]
  return [main, 'serve', '--listen', `127.0.0.1:${port}`, '--upstream', `http://127.0.0.1:${ctx.upstreamPort}`, '--log-level', logLevel, ...off, ...extra]
}

export const TARGETS: readonly TargetSpec[] = [
  {
    name: 'direct',
    description: 'the load generator straight to the upstream (sends the bearer token itself)',
    needsBuild: false,
    start: async (ctx) => ({ name: 'direct', port: ctx.upstreamPort, pid: undefined, clientAuth: `Bearer ${TOKEN}`, stop: async () => {} }),
  },
  {
    name: 'c66-proxy',
    description:
      'the product: node <its flags> dist/main.js serve --log-level info (one JSON log line per request, to /dev/null), forwarding every request (--coalesce off, --upstream-budget off)',
    needsBuild: true,
    start: (ctx) => startNode('c66-proxy', ctx, (port) => productArgs(REPO_ROOT, port, ctx, 'info'), 'SIGINT'),
  },
  {
    name: 'c66-proxy-warn',
    description: 'the product with --log-level warn (no per-request log line)',
    needsBuild: true,
    start: (ctx) => startNode('c66-proxy-warn', ctx, (port) => productArgs(REPO_ROOT, port, ctx, 'warn'), 'SIGINT'),
  },
  {
    name: 'c66-proxy-coalesce',
    description: "the product as shipped (coalescing on): W1's 50 connections ask the same URL at once, so some answers are copies",
    needsBuild: true,
    start: (ctx) => startNode('c66-proxy-coalesce', ctx, (port) => productArgs(REPO_ROOT, port, ctx, 'info', ['--coalesce', 'on']), 'SIGINT'),
  },
  ...(process.env['C66_BENCH_REF_DIR'] === undefined
    ? []
    : [
        {
          name: 'c66-proxy-ref',
          description: `another build of the product, for before/after: ${process.env['C66_BENCH_REF_DIR']}/dist/main.js (C66_BENCH_REF_DIR), same flags as c66-proxy`,
          needsBuild: false,
          start: (ctx: TargetContext) =>
            startNode('c66-proxy-ref', ctx, (port) => productArgs(process.env['C66_BENCH_REF_DIR'] ?? '', port, ctx, 'info'), 'SIGINT'),
        },
      ]),
  {
    name: 'node-pipe',
    description: "plain Node http.createServer + http.request pipe, keep-alive agent, injects Authorization (the Node ceiling), on the product's Node flags",
    needsBuild: false,
    start: (ctx) =>
      startNode('node-pipe', ctx, (port) => [`${BENCH_DIR}node-pipe.mjs`, '--port', String(port), '--upstream', `http://127.0.0.1:${ctx.upstreamPort}`]),
  },
]

export interface Upstream {
  readonly port: number
  readonly pid: number
  stats(): Promise<UpstreamStats>
  reset(): Promise<void>
  stop(): Promise<void>
}

export interface UpstreamStats {
  readonly requests: number
  readonly auth_ok: number
  readonly auth_missing: number
  readonly auth_wrong: number
  readonly x_forwarded_for: number
  readonly by_route: Record<string, number>
}

/** The static upstream, pinned to the load core next to wrk and curl. */
export async function startUpstream(): Promise<Upstream> {
  const port = await freePort()
  const child = spawnTracked('taskset', ['-c', LOAD_CORE, process.execPath, `${BENCH_DIR}upstream.mjs`, '--port', String(port), '--token', TOKEN], {
    cwd: REPO_ROOT,
    stdio: 'ignore',
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
  })
  await waitForPort(port, 10_000, child)
  const base = `http://127.0.0.1:${port}/__bench`
  return {
    port,
    pid: child.pid ?? 0,
    stats: async () => (await (await fetch(`${base}/stats`, { signal: AbortSignal.timeout(5_000) })).json()) as UpstreamStats,
    reset: async () => {
      await fetch(`${base}/reset`, { method: 'POST', signal: AbortSignal.timeout(5_000) })
    },
    stop: async () => {
      await stopChild(child)
      await sleep(0)
    },
  }
}
