// Gateway load run (issue 4): 50 members, each with their own gateway key, at 1,000 concurrent
// connections through the gateway; throughput, p99 and errors, next to local mode at the same
// load. The gateway runs "behind a TLS front" (https public URL, trusted proxy 127.0.0.1) and is
// reached over plain HTTP, like local mode, so the comparison is about the gateway's own work
// (key lookup, policy, rate limit, audit), not TLS. The upstream is the bench's static server,
// which accepts any bearer token. Everything is pinned like the main run: target on core 0,
// wrk and the upstream on core 1.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort, installCleanup, killAllNow, runProductCli as cli, runCommand, spawnTracked, stopChild, waitForPort } from './procs.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CLI = join(ROOT, 'dist', 'main.js')
const MEMBERS = 50
const CONNECTIONS = 1_000
const SECRET = 'b'.repeat(64)

export interface LoadResult {
  readonly target: string
  readonly requests: number
  readonly rps: number
  readonly p50ms: number
  readonly p99ms: number
  readonly errors: number
  readonly non2xx: number
}

function wrkLua(keys: readonly string[] | undefined, path: string): string {
  // Each connection takes one member's key (round robin over 50 members), as 50 tools would.
  const pick =
    keys === undefined
      ? ''
      : `local keys = { ${keys.map((k) => `"${k}"`).join(', ')} }
local n = 0
function setup(thread) end
request = function()
  n = n + 1
  return wrk.format("GET", "${path}", { ["Authorization"] = "Bearer " .. keys[(n % #keys) + 1] })
end
`
  return `${pick}
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %.1f %.3f %.3f %d %d %d\\n", summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, summary.errors.status, 0))
end
`
}

async function wrk(url: string, lua: string, dir: string, seconds: number): Promise<Omit<LoadResult, 'target'>> {
  const script = join(dir, `wrk-${Math.random().toString(36).slice(2)}.lua`)
  await writeFile(script, lua)
  const r = await runCommand('taskset', ['-c', '1', 'wrk', '-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--timeout', '10s', '-s', script, url], {
    timeoutMs: (seconds + 30) * 1000,
  })
  const m = /RESULT (\d+) ([\d.]+) ([\d.]+) ([\d.]+) (\d+) (\d+)/.exec(r.stdout)
  if (!m) throw new Error(`wrk gave no result: ${r.stdout} ${r.stderr}`)
  return { requests: Number(m[1]), rps: Number(m[2]), p50ms: Number(m[3]), p99ms: Number(m[4]), errors: Number(m[5]), non2xx: Number(m[6]) }
}

export async function runGatewayLoad(options: { seconds: number; reps: number; upstreamPort: number }): Promise<LoadResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'c66-bench-gateway-'))
  const results: LoadResult[] = []
  try {
    const upstream = `http://127.0.0.1:${options.upstreamPort}`
    const port = await freePort()
    const env = {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: dir,
      C66_PROXY_SECRET: SECRET,
      C66_CLIENT_SECRET: 'bench-secret',
      C66_PROXY_MODE: 'gateway',
      C66_PROXY_DATA_DIR: join(dir, 'data'),
      C66_PROXY_UPSTREAM: upstream,
      C66_PROXY_PUBLIC_URL: `https://127.0.0.1:${port}`,
      C66_PROXY_TRUSTED_PROXIES: '127.0.0.1/32',
      C66_CLIENT_ID: 'bench-client',
      C66_PROXY_LISTEN: `127.0.0.1:${port}`,
      C66_PROXY_MEMBER_RATE: '100000000/h',
      C66_PROXY_LOG_LEVEL: 'info',
      C66_PROXY_AUDIT_LOG: join(dir, 'audit.log'),
      // 1,000 connections over 50 members is ~20 requests in flight per member: above the default
      // fair share (16). This run measures the gateway's own cost; starvation.ts measures the share.
      C66_PROXY_MEMBER_CONCURRENCY: '1000',
      // Every request is forwarded, as in the main run: the bench upstream is not Cloud 66, and
      // its hourly budget (3,000 per member) would refuse all but the first seconds; identical
      // GETs would otherwise share upstream requests.
      C66_PROXY_UPSTREAM_BUDGET: 'off',
      C66_PROXY_COALESCE: 'off',
    }
    // 50 members with their own Cloud 66 token and gateway key, made with the operators' CLI.
    const keys: string[] = []
    for (let i = 1; i <= MEMBERS; i++) {
      await cli(CLI, ['members', 'add-token', `member${i}`], env, `bench-token-${i}\n`)
      keys.push((JSON.parse(await cli(CLI, ['keys', 'create', '--member', `member${i}`, '--json'], env)) as { key: string }).key)
    }
    const localPort = await freePort()
    const localEnv = { PATH: env.PATH, HOME: dir, CLOUD66_ACCESS_TOKEN: 'bench-token', C66_PROXY_DATA_DIR: join(dir, 'local') }
    for (let rep = 0; rep < options.reps; rep++) {
      for (const target of ['local', 'gateway'] as const) {
        const child =
          target === 'gateway'
            ? spawnTracked('taskset', ['-c', '0', process.execPath, CLI, 'serve'], { env })
            : spawnTracked(
                'taskset',
                [
                  ...['-c', '0', process.execPath, CLI, 'serve', '--listen', `127.0.0.1:${localPort}`, '--upstream', upstream, '--log-level', 'info'],
                  ...['--upstream-budget', 'off', '--coalesce', 'off'],
                ],
                { env: localEnv },
              )
        const p = target === 'gateway' ? port : localPort
        try {
          await waitForPort(p, 15_000, child)
          const url = `http://127.0.0.1:${p}/api/3/stacks.json`
          const lua = wrkLua(target === 'gateway' ? keys : undefined, '/api/3/stacks.json')
          await wrk(url, lua, dir, 3) // warm-up: key caches, the upstream pool
          results.push({ target: target === 'gateway' ? 'gateway (50 members)' : 'local mode', ...(await wrk(url, lua, dir, options.seconds)) })
        } finally {
          await stopChild(child)
        }
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
  return results
}

export function renderGatewayLoad(results: readonly LoadResult[]): string {
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN
  const rows = ['local mode', 'gateway (50 members)'].map((target) => {
    const rs = results.filter((r) => r.target === target)
    return {
      target,
      rps: med(rs.map((r) => r.rps)),
      p50: med(rs.map((r) => r.p50ms)),
      p99: med(rs.map((r) => r.p99ms)),
      errors: rs.reduce((a, r) => a + r.errors + r.non2xx, 0),
      requests: rs.reduce((a, r) => a + r.requests, 0),
    }
  })
  const [local, gateway] = rows
  const ratio = local && gateway ? gateway.p99 / local.p99 : NaN
  return [
    `## Gateway load (${MEMBERS} members with their own keys, ${CONNECTIONS} connections, wrk -t1)`,
    '',
    '| target | req/s | p50 ms | p99 ms | errors (socket + non-2xx) / requests |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.target} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.errors} / ${r.requests} |`),
    '',
    `- **${gateway && gateway.errors === 0 ? 'PASS' : 'FAIL'}** no errors through the gateway`,
    `- **${ratio <= 1.5 ? 'PASS' : 'FAIL'}** gateway p99 ≤ 1.5× local mode's at the same load: ${ratio.toFixed(2)}×`,
    '',
  ].join('\n')
}

// Standalone: node --import tsx test/bench/gateway-load.ts [--seconds N] [--reps N]
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  installCleanup(() => killAllNow())
  const arg = (name: string, dflt: number) => {
    const i = process.argv.indexOf(name)
    return i === -1 ? dflt : Number(process.argv[i + 1])
  }
  const upstreamPort = await freePort()
  const upstream = spawnTracked('taskset', ['-c', '1', process.execPath, join(ROOT, 'test/bench/upstream.mjs'), '--port', String(upstreamPort)], {})
  try {
    await waitForPort(upstreamPort, 10_000, upstream)
    const results = await runGatewayLoad({ seconds: arg('--seconds', 10), reps: arg('--reps', 3), upstreamPort })
    process.stdout.write(`${renderGatewayLoad(results)}\n`)
  } finally {
    killAllNow()
  }
}
