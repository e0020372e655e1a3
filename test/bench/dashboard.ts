// The dashboard workload (issue 13): 20 pollers (status pages, monitoring scripts, open browser
// tabs), each fetching the same 5 URLs every 2 s through one proxy. Without help the upstream gets
// every one of those requests and a team burns Cloud 66's 3,000-per-hour budget in a minute. The
// proxy runs three ways: no coalescing (the naive count), its defaults (coalescing on), and with
// a 5 s cache; what counts is how many requests the upstream (the simulator) received.
import http from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { DEFAULT_TOKEN, startSimulator, type SimulatorRequestRecord } from '../../src/simulator/index.js'
import { sample, startProduct } from './product.js'
import { fmt } from './stats.js'

export const POLLERS = 20
export const INTERVAL_S = 2
export const CACHE_TTL_S = 5

export interface DashboardRun {
  readonly name: string
  readonly args: readonly string[]
  /** `flag-missing`: this build refused one of `args` (a feature not merged yet). */
  readonly status: 'ok' | 'flag-missing' | 'failed'
  readonly detail?: string
  /** Requests the upstream received, in all and per URL (in the order of `urls`). */
  readonly upstream?: number
  readonly perUrl?: readonly number[]
  readonly answered?: number
  readonly failed?: number
  /** The proxy's own count of upstream connections, to see the pool at work. */
  readonly connections?: number
}

export interface DashboardResult {
  readonly pollers: number
  readonly intervalS: number
  readonly durationS: number
  readonly urls: readonly string[]
  /** What reaches the upstream with nothing shared: pollers × URLs × polls. */
  readonly naive: number
  /** With the cache, at most one request per URL per TTL, plus the first fill. */
  readonly cacheBoundPerUrl: number
  readonly runs: readonly DashboardRun[]
}

const RUNS: ReadonlyArray<{ name: string; args: readonly string[] }> = [
  { name: 'no coalescing (`--coalesce off`): the naive baseline', args: ['--coalesce', 'off'] },
  { name: 'defaults (coalescing on)', args: [] },
  { name: `coalescing and \`--cache-ttl ${CACHE_TTL_S}s\``, args: ['--cache-ttl', `${CACHE_TTL_S}s`] },
]

/** One poller: at `offsetMs`, then every interval until the end, the URLs at once, on its own keep-alive connections. */
async function poll(
  port: number,
  urls: readonly string[],
  offsetMs: number,
  polls: number,
  intervalMs: number,
  t0: number,
): Promise<{ answered: number; failed: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: urls.length })
  let answered = 0
  let failed = 0
  const get = (path: string) =>
    new Promise<void>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path, agent, timeout: 10_000 }, (res) => {
        res.resume()
        res.once('end', () => {
          if (res.statusCode === 200) answered += 1
          else failed += 1
          resolve()
        })
      })
      req.once('timeout', () => req.destroy(new Error('timeout')))
      req.once('error', () => {
        failed += 1
        resolve()
      })
    })
  try {
    for (let k = 0; k < polls; k++) {
      // Absolute times, so a slow answer does not shift the later polls.
      const wait = t0 + offsetMs + k * intervalMs - performance.now()
      if (wait > 0) await sleep(wait)
      await Promise.all(urls.map(get))
    }
  } finally {
    agent.destroy()
  }
  return { answered, failed }
}

export async function runDashboard(options: { durationS: number; home: string }): Promise<DashboardResult> {
  const polls = Math.floor(options.durationS / INTERVAL_S)
  const sim = await startSimulator({ budgetPerToken: 1_000_000, maxRecords: 0 })
  try {
    // The same stack's pages a status board shows: the list, the stack, its servers, deployments and actions.
    const list = (await (await fetch(`${sim.url.origin}/api/3/stacks.json`, { headers: { authorization: `Bearer ${DEFAULT_TOKEN}` } })).json()) as {
      response: Array<{ uid: string }>
    }
    const uid = list.response[0]?.uid ?? ''
    const urls = [
      '/api/3/stacks.json',
      `/api/3/stacks/${uid}.json`,
      `/api/3/stacks/${uid}/servers.json`,
      `/api/3/stacks/${uid}/deployments.json`,
      `/api/3/stacks/${uid}/actions.json`,
    ]
    const runs: DashboardRun[] = []
    for (const run of RUNS) {
      // --upstream-budget off: the naive run sends 3,000 requests in a minute, Cloud 66's whole
      // hourly budget; refusing past it is another feature, not what this run measures.
      const started = await startProduct(['--upstream', sim.url.origin, '--log-level', 'warn', '--upstream-budget', 'off', ...run.args], {
        HOME: options.home,
        CLOUD66_ACCESS_TOKEN: DEFAULT_TOKEN,
      })
      if (!started.ok) {
        runs.push(
          started.missingFlag !== undefined
            ? { name: run.name, args: run.args, status: 'flag-missing', detail: `this build has no ${started.missingFlag}` }
            : { name: run.name, args: run.args, status: 'failed', detail: started.stderr.split('\n').slice(-3).join(' ') },
        )
        continue
      }
      const perUrl = urls.map(() => 0)
      const count = (record: SimulatorRequestRecord) => {
        const i = urls.indexOf(record.url)
        if (i >= 0) perUrl[i] = (perUrl[i] ?? 0) + 1
      }
      sim.events.on('request', count)
      try {
        const t0 = performance.now()
        // Spread evenly over one interval, as pollers started at different moments are.
        const results = await Promise.all(
          Array.from({ length: POLLERS }, (_, p) => poll(started.proxy.port, urls, (p * INTERVAL_S * 1000) / POLLERS, polls, INTERVAL_S * 1000, t0)),
        )
        await sleep(200) // the last upstream records land after their answers
        runs.push({
          name: run.name,
          args: run.args,
          status: 'ok',
          upstream: perUrl.reduce((a, b) => a + b, 0),
          perUrl,
          answered: results.reduce((a, r) => a + r.answered, 0),
          failed: results.reduce((a, r) => a + r.failed, 0),
          connections: sample(await started.proxy.metrics(), 'c66_proxy_upstream_connections_opened_total', 'tls_session="none"'),
        })
      } finally {
        sim.events.off('request', count)
        await started.proxy.stop()
      }
    }
    return {
      pollers: POLLERS,
      intervalS: INTERVAL_S,
      durationS: polls * INTERVAL_S,
      urls,
      naive: POLLERS * urls.length * polls,
      cacheBoundPerUrl: Math.ceil((polls * INTERVAL_S) / CACHE_TTL_S) + 1,
      runs,
    }
  } finally {
    await sim.close()
  }
}

/** The cache run's verdict: undefined when it could not run (the flag is missing from this build). */
export function dashboardPass(r: DashboardResult): boolean | undefined {
  const cached = r.runs[2]
  if (!cached || cached.status === 'flag-missing') return undefined
  return cached.status === 'ok' && cached.failed === 0 && (cached.perUrl ?? []).every((n) => n <= r.cacheBoundPerUrl)
}

export function renderDashboard(r: DashboardResult): string {
  const perMinute = (n: number) => (n * 60) / r.durationS
  const row = (run: DashboardRun) => {
    if (run.status === 'flag-missing') return `| ${run.name} | n/a (flag missing: ${run.detail ?? ''}) | | | | |`
    if (run.status === 'failed') return `| ${run.name} | failed: ${run.detail ?? ''} | | | | |`
    const upstream = run.upstream ?? 0
    return `| ${run.name} | ${upstream} | ${fmt(perMinute(upstream), 0)} | ${fmt(upstream / r.naive, 3)} | ${(run.perUrl ?? []).join(' / ')} | ${run.answered ?? 0} / ${run.failed ?? 0} |`
  }
  const pass = dashboardPass(r)
  return [
    `## Dashboard: ${r.pollers} pollers, the same ${r.urls.length} URLs every ${r.intervalS} s, for ${r.durationS} s`,
    '',
    `Pollers start spread over one interval; each fetches its ${r.urls.length} URLs at once on its own keep-alive connections. Naive count: ${r.pollers} × ${r.urls.length} × ${r.durationS / r.intervalS} polls = **${r.naive}** upstream requests (${fmt(perMinute(r.naive), 0)}/min). Upstream: the simulator, counted as it receives them.`,
    '',
    '| proxy | upstream requests | per minute | × naive | per URL | answered / failed |',
    '|---|---|---|---|---|---|',
    ...r.runs.map(row),
    '',
    pass === undefined
      ? `- **n/a** with the cache, at most one upstream request per URL per ${CACHE_TTL_S} s TTL: this build has no \`--cache-ttl\``
      : `- **${pass ? 'PASS' : 'FAIL'}** with the cache, at most one upstream request per URL per ${CACHE_TTL_S} s TTL (≤ ${r.cacheBoundPerUrl} per URL in ${r.durationS} s, the first fill included), no failed poll`,
    '',
  ].join('\n')
}
