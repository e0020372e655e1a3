// The starvation workload (issue 10, finding 1): one gateway member holds 64 slow uploads (a
// chunked POST that has sent one byte and then waits, as one sending a byte every 25 s would)
// while another member sends 20 GETs one after another. With the defaults (a 64-connection pool,
// --member-concurrency a quarter of it) the hog gets 16 slots and the other member is answered at
// once; with --member-concurrency 64 (no fair share) the other member waits for a pooled
// connection until --response-timeout (5 s here) and gets 504: what happened before the fix.
import http from 'node:http'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort, installCleanup, killAllNow, runProductCli as cli, spawnTracked, stopChild, waitForPort } from './procs.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CLI = join(ROOT, 'dist', 'main.js')
const SLOW_UPLOADS = 64
const GETS = 20

export interface StarvationResult {
  readonly setting: string
  /** Slow uploads the gateway let through to the upstream (still open when measured). */
  readonly hogHeld: number
  /** Slow uploads answered 429 too_many_concurrent. */
  readonly hogRefused: number
  readonly otherStatuses: readonly number[]
  readonly otherP50Ms: number
  readonly otherMaxMs: number
}

function get(port: number, key: string): Promise<{ status: number; ms: number }> {
  const started = performance.now()
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/api/3/stacks.json', agent: false, headers: { authorization: `Bearer ${key}` } }, (res) => {
      res.resume()
      res.once('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }))
    })
    req.once('error', () => resolve({ status: 0, ms: performance.now() - started }))
  })
}

export async function runStarvation(options: { upstreamPort: number }): Promise<StarvationResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'c66-bench-starvation-'))
  const results: StarvationResult[] = []
  try {
    const port = await freePort()
    const env = {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: dir,
      C66_PROXY_SECRET: 'c'.repeat(64),
      C66_CLIENT_SECRET: 'bench-secret',
      C66_PROXY_MODE: 'gateway',
      C66_PROXY_DATA_DIR: join(dir, 'data'),
      C66_PROXY_UPSTREAM: `http://127.0.0.1:${options.upstreamPort}`,
      C66_PROXY_PUBLIC_URL: `https://127.0.0.1:${port}`,
      C66_PROXY_TRUSTED_PROXIES: '127.0.0.1/32',
      C66_CLIENT_ID: 'bench-client',
      C66_PROXY_LISTEN: `127.0.0.1:${port}`,
      C66_PROXY_LOG_LEVEL: 'warn',
      C66_PROXY_AUDIT_LOG: join(dir, 'audit.log'),
      // Upload bodies stream only without a ?param rule (with one, the gateway reads them first).
      C66_PROXY_GATEWAY_DENY_PATHS: '/accounts/otp',
      C66_PROXY_RESPONSE_TIMEOUT: '5s',
    }
    const keys: string[] = []
    for (const name of ['hog', 'other']) {
      await cli(CLI, ['members', 'add-token', name], env, `bench-token-${name}\n`)
      keys.push((JSON.parse(await cli(CLI, ['keys', 'create', '--member', name, '--json'], env)) as { key: string }).key)
    }
    const [hog = '', other = ''] = keys
    for (const [setting, extra] of [
      ['defaults (--member-concurrency 16 of 64)', {}],
      ['--member-concurrency 64 (no fair share)', { C66_PROXY_MEMBER_CONCURRENCY: '64' }],
    ] as const) {
      const child = spawnTracked('taskset', ['-c', '0', process.execPath, CLI, 'serve'], { env: { ...env, ...extra } })
      const uploads: http.ClientRequest[] = []
      try {
        await waitForPort(port, 15_000, child)
        let refused = 0
        for (let i = 0; i < SLOW_UPLOADS; i++) {
          const req = http.request(
            {
              host: '127.0.0.1',
              port,
              path: '/api/3/echo',
              method: 'POST',
              agent: false,
              headers: { authorization: `Bearer ${hog}`, 'transfer-encoding': 'chunked', 'content-type': 'application/octet-stream' },
            },
            (res) => {
              if (res.statusCode === 429) refused += 1
              res.resume()
            },
          )
          req.on('error', () => undefined)
          req.write('x') // then nothing: the next byte would come in 25 s
          uploads.push(req)
        }
        await new Promise((resolve) => setTimeout(resolve, 1_000))
        const answers: Array<{ status: number; ms: number }> = []
        for (let i = 0; i < GETS; i++) answers.push(await get(port, other))
        const ms = answers.map((a) => a.ms).sort((a, b) => a - b)
        results.push({
          setting,
          hogHeld: SLOW_UPLOADS - refused,
          hogRefused: refused,
          otherStatuses: answers.map((a) => a.status),
          otherP50Ms: ms[Math.floor(ms.length / 2)] ?? NaN,
          otherMaxMs: ms[ms.length - 1] ?? NaN,
        })
      } finally {
        for (const req of uploads) req.destroy()
        await stopChild(child)
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
  return results
}

export function renderStarvation(results: readonly StarvationResult[]): string {
  const fair = results[0]
  const statuses = (r: StarvationResult) => [...new Set(r.otherStatuses)].map((s) => `${s}×${r.otherStatuses.filter((x) => x === s).length}`).join(', ')
  return [
    `## Starvation (one member holds ${SLOW_UPLOADS} slow uploads; another member sends ${GETS} GETs one after another)`,
    '',
    "| setting | slow uploads held / refused 429 | other member's answers | p50 ms | max ms |",
    '|---|---|---|---|---|',
    ...results.map((r) => `| ${r.setting} | ${r.hogHeld} / ${r.hogRefused} | ${statuses(r)} | ${r.otherP50Ms.toFixed(1)} | ${r.otherMaxMs.toFixed(1)} |`),
    '',
    `- **${fair && fair.otherMaxMs < 1_000 && fair.otherStatuses.every((s) => s === 200) ? 'PASS' : 'FAIL'}** with the defaults, every GET of the other member is answered 200 in under 1 s`,
    '',
  ].join('\n')
}

// Standalone: node --import tsx test/bench/starvation.ts
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  installCleanup(() => killAllNow())
  const upstreamPort = await freePort()
  const upstream = spawnTracked('taskset', ['-c', '1', process.execPath, join(ROOT, 'test/bench/upstream.mjs'), '--port', String(upstreamPort)], {})
  try {
    await waitForPort(upstreamPort, 10_000, upstream)
    process.stdout.write(`${renderStarvation(await runStarvation({ upstreamPort }))}\n`)
  } finally {
    killAllNow()
  }
}
