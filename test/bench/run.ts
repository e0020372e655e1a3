// `npm run bench`: c66-proxy next to the upstream itself (direct) and a plain-Node pipe proxy
// (node-pipe), with the method of /work/shared/reference/performance.md. See README.md here.
//
//   npm run bench [-- --reps N] [-- --quick] [-- --targets direct,c66-proxy,...] [-- --profile] [-- --check]
//   npm run bench -- --only wan,dashboard     (issue 13's workloads alone)
import { execFileSync } from 'node:child_process'
import { randomFillSync } from 'node:crypto'
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { installCleanup, killAllNow, loggedCommands } from './procs.js'
import { renderAreaComparison, renderProfile, summarizeProfile, type ComparedProfile } from './profile.js'
import { commandLines, computeFloors, renderMarkdown, type RunInfo, type TargetRep } from './report.js'
import { renderGatewayLoad, runGatewayLoad } from './gateway-load.js'
import { renderStarvation, runStarvation } from './starvation.js'
import { renderMicro, runMicro } from './micro.js'
import { dashboardPass, renderDashboard, runDashboard, type DashboardResult } from './dashboard.js'
import { renderWan, runWan, type WanResult } from './wan.js'
import { fmt } from './stats.js'
import { waitForQuiet } from './sys.js'
import { buildFingerprint, LOAD_CORE, REPO_ROOT, startUpstream, TARGETS, type TargetSpec, type Upstream } from './targets.js'
import { download, FULL, idleBurst, idleRss, loadTest, measuredDownload, measuredUpload, QUICK, upload, type Durations } from './workloads.js'

const QUIET_THRESHOLD_PCT = 25
const WAN_CALLS = { full: 50, quick: 10 } as const
const WAN_DELAY_MS = 20
const DASHBOARD_S = { full: 60, quick: 10 } as const
const log = (msg: string) => process.stderr.write(`${msg}\n`)

const { values: opts } = parseArgs({
  options: {
    reps: { type: 'string', default: '3' },
    quick: { type: 'boolean', default: false },
    targets: { type: 'string' },
    profile: { type: 'boolean', default: false },
    check: { type: 'boolean', default: false },
    'quiet-wait': { type: 'string' },
    render: { type: 'string' },
    only: { type: 'string' },
    'no-gateway': { type: 'boolean', default: false },
    'no-wan': { type: 'boolean', default: false },
    'no-dashboard': { type: 'boolean', default: false },
    micro: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  allowPositionals: false,
})

if (opts.render) {
  const saved = JSON.parse(readFileSync(opts.render, 'utf8')) as { info: RunInfo; rows: TargetRep[]; wan?: WanResult; dashboard?: DashboardResult }
  const extra = (saved.wan ? `\n${renderWan(saved.wan)}` : '') + (saved.dashboard ? `\n${renderDashboard(saved.dashboard)}` : '')
  process.stdout.write(`${saved.rows.length > 0 ? renderMarkdown(saved.info, saved.rows) : renderExtrasOnly(saved.info)}${extra}\n`)
  process.exit(0)
}

if (opts.micro) {
  const results = await runMicro()
  process.stdout.write(`${renderMicro(results)}\n`)
  process.exit(opts.check && results.some((r) => !r.pass) ? 2 : 0)
}

if (opts.help) {
  process.stdout.write(`usage: npm run bench -- [--reps N] [--quick] [--targets ${TARGETS.map((t) => t.name).join(',')}] [--profile] [--check]
  --reps N     interleaved repetitions (default 3; --quick defaults to 1)
  --micro      only the in-process micro-measures (rule matching, body inspection); no wrk needed
  --no-gateway skip the gateway load and starvation runs (part of every full run)
  --no-wan     skip the WAN workload: ${WAN_CALLS.full} fresh curl calls direct vs through the proxy, HTTPS
               upstream behind a 20 ms-each-way relay (part of every run; --quick: ${WAN_CALLS.quick})
  --no-dashboard  skip the dashboard workload: 20 pollers × 5 URLs every 2 s for ${DASHBOARD_S.full} s, three proxy
               settings, upstream requests counted (part of every run; --quick: ${DASHBOARD_S.quick} s)
  --quick      short runs and ${QUICK.transferMiB} MiB transfers, to check the harness
  --targets    comma-separated subset (default: all)
  --profile    instead of the workloads: run W1 on each Node target under node --cpu-prof and
               summarise where the CPU goes (top self/inclusive functions, by area)
  --check      exit 2 if a floor fails (or the WAN or dashboard goal)
  --only W1,W3 run only these workloads (W6 idle RSS is always read); for focused checks.
               WAN and DASHBOARD are names too: --only wan,dashboard runs just those two
  --render F   re-render the Markdown report from a results .json (no measurement)
  --quiet-wait S  before each target, wait up to S seconds for the machine to be < ${QUIET_THRESHOLD_PCT}% busy
               (default 60, --quick 3; 0 disables). Other people's test runs distort the numbers.
Results: stdout and .bench/results-<timestamp>.{md,json}\n`)
  process.exit(0)
}

const durations: Durations = opts.quick ? QUICK : FULL
const WORKLOADS = ['W1', 'W2', 'W3', 'W4', 'W5'] as const
const EXTRA_WORKLOADS = ['WAN', 'DASHBOARD'] as const
const only = new Set(
  opts.only
    ? opts.only
        .toUpperCase()
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : [...WORKLOADS, ...EXTRA_WORKLOADS],
)
const unknownWorkloads = [...only].filter((w) => !(WORKLOADS as readonly string[]).includes(w) && !(EXTRA_WORKLOADS as readonly string[]).includes(w))
if (unknownWorkloads.length > 0) {
  log(`unknown workload(s) in --only: ${unknownWorkloads.join(', ')}; known: ${[...WORKLOADS, ...EXTRA_WORKLOADS].join(', ')}`)
  process.exit(1)
}
const runs = (w: (typeof WORKLOADS)[number]) => only.has(w)
/** Whether the per-target runs (W1-W6, the micro-measures) happen at all: not for `--only wan,dashboard`. */
const perTarget = WORKLOADS.some(runs)
const runsWan = only.has('WAN') && !opts['no-wan']
const runsDashboard = only.has('DASHBOARD') && !opts['no-dashboard']
const wanCalls = opts.quick ? WAN_CALLS.quick : WAN_CALLS.full
const dashboardS = opts.quick ? DASHBOARD_S.quick : DASHBOARD_S.full
const quietWaitS = Number(opts['quiet-wait'] ?? (opts.quick ? 3 : 60)) || 0
const reps = Math.max(1, Number(opts.quick && process.argv.every((a) => !a.startsWith('--reps')) ? 1 : opts.reps) || 1)
const wanted = opts.targets
  ? opts.targets
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
  : TARGETS.map((t) => t.name)
const unknown = wanted.filter((n) => !TARGETS.some((t) => t.name === n))
if (unknown.length > 0) {
  log(`unknown target(s): ${unknown.join(', ')}; known: ${TARGETS.map((t) => t.name).join(', ')}`)
  process.exit(1)
}
const selected: TargetSpec[] = wanted.map((n) => TARGETS.find((t) => t.name === n) as TargetSpec)

const timestamp = new Date().toISOString().replace(/\..*$/, '').replace(/:/g, '-')
const outDir = path.join(REPO_ROOT, '.bench')
const tmp = mkdtempSync(path.join(os.tmpdir(), 'c66-bench-'))
const home = path.join(tmp, 'home')
mkdirSync(home)

let cleaned = false
function cleanup() {
  if (cleaned) return
  cleaned = true
  killAllNow()
  rmSync(tmp, { recursive: true, force: true })
}
installCleanup((signal) => {
  log(`\n${signal}: stopping every process the benchmark started`)
  cleanup()
})
process.once('exit', cleanup)

function tryExec(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5_000 }).trim()
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string }
    return `${e.stdout ?? ''}${e.stderr ?? ''}`.trim()
  }
}

function preflight(): void {
  for (const [cmd, arg] of [
    ['wrk', '-v'],
    ['taskset', '-V'],
    ['curl', '--version'],
  ] as const) {
    if (cmd === 'wrk' && !perTarget) continue
    try {
      execFileSync(cmd, [arg], { stdio: 'ignore', timeout: 5_000 })
    } catch (err) {
      // wrk -v exits 1 after printing its version.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw new Error(`${cmd} is not installed (apt-get install -y ${cmd === 'taskset' ? 'util-linux' : cmd})`, { cause: err })
    }
  }
  if (os.cpus().length < 2) throw new Error('needs at least 2 cores (target on core 0, load on core 1)')
  if ((selected.some((t) => t.needsBuild) || runsWan || runsDashboard) && !existsSync(path.join(REPO_ROOT, 'dist/main.js'))) {
    throw new Error('dist/main.js is missing: run `npm run build` (npm run bench does)')
  }
}

function machineInfo(): Record<string, string> {
  return {
    cpu: `${os.cpus()[0]?.model ?? '?'} × ${os.cpus().length}`,
    kernel: `${os.type()} ${os.release()}`,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    node: process.version,
    wrk: tryExec('wrk', ['-v']).split('\n')[0] ?? '?',
    curl: tryExec('curl', ['--version']).split('\n')[0]?.split(' ').slice(0, 2).join(' ') ?? '?',
    'git HEAD': `${tryExec('git', ['-C', REPO_ROOT, 'rev-parse', '--short', 'HEAD'])} (working tree as built by npm run build)`,
    'load average at start': os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
  }
}

/** The harness itself stays on the load core, off the target's. */
function pinSelf(): void {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', LOAD_CORE, String(process.pid)], { stdio: 'ignore' })
  } catch {
    log('warning: could not pin the harness to the load core')
  }
}

function makeUploadFile(mib: number): string {
  const file = path.join(tmp, `upload-${mib}.bin`)
  const fd = openSync(file, 'w')
  const buf = Buffer.allocUnsafe(1048576)
  for (let i = 0; i < mib; i++) writeSync(fd, randomFillSync(buf))
  closeSync(fd)
  return file
}

async function step<T>(row: TargetRep, name: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn()
  } catch (err) {
    row.errors.push(`${name}: ${(err as Error).message}`)
    log(`  ${row.target} ${name} failed: ${(err as Error).message}`)
    return undefined
  }
}

let quietFailed = false

async function runTarget(spec: TargetSpec, rep: number, order: number, upstream: Upstream, uploadFile: string): Promise<TargetRep> {
  const row: TargetRep = { target: spec.name, rep, order, errors: [] }
  if (quietWaitS > 0) {
    // Once a wait has failed, the machine is evidently busy for a while: wait less next time.
    const wait = quietFailed ? Math.min(quietWaitS, 10) : quietWaitS
    row.quiet = await waitForQuiet(wait, QUIET_THRESHOLD_PCT)
    quietFailed = !row.quiet.quiet
    if (quietFailed) log(`  machine still ${row.quiet.busyPct.toFixed(0)}% busy after ${wait} s: measuring anyway`)
  }
  if (spec.needsBuild) row.build = buildFingerprint()
  let target
  try {
    target = await spec.start({ upstreamPort: upstream.port, home })
  } catch (err) {
    row.errors.push(`start: ${(err as Error).message}`)
    log(`  ${spec.name} failed to start: ${(err as Error).message}`)
    return row
  }
  try {
    row.w6StartMiB = await idleRss(target.pid, 1_000)
    await upstream.reset()
    if (runs('W1')) {
      const w1 = await step(row, 'W1', () => loadTest(target, 50, durations))
      if (w1) row.w1 = w1
      await sleep(300)
    }
    if (runs('W2')) {
      const w2 = await step(row, 'W2', () => loadTest(target, 1, durations))
      if (w2) row.w2 = w2
      await sleep(300)
    }
    if (runs('W3')) {
      const w3 = await step(row, 'W3', () => measuredDownload(target, durations))
      if (w3) row.w3 = w3
      await sleep(300)
    }
    if (runs('W4')) {
      const w4 = await step(row, 'W4', () => measuredUpload(target, durations, uploadFile))
      if (w4) row.w4 = w4
      await sleep(300)
    }
    if (runs('W5')) {
      const w5 = await step(row, 'W5', () => idleBurst(target, durations))
      if (w5) row.w5 = w5
    }
    row.w6AfterMiB = await idleRss(target.pid, 2_000)
    const stats = await step(row, 'upstream stats', () => upstream.stats())
    if (stats) row.upstream = stats
  } finally {
    await target.stop()
  }
  log(
    `  ${spec.name.padEnd(15)} W1 ${fmt(row.w1?.rps)} req/s, ${fmt(row.w1?.cpuUsPerReq)} µs/req, p99 ${fmt(row.w1 && row.w1.p99Us / 1000, 2)} ms, err ${row.w1?.errors ?? '-'}` +
      ` | W2 p50 ${fmt(row.w2?.p50Us)} µs | W3 ${fmt(row.w3?.mibPerS)} MiB/s ${fmt(row.w3?.cpuMsPerMiB)} ms/MiB peak ${fmt(row.w3?.peakRssMiB)} | W4 ${fmt(row.w4?.mibPerS)} MiB/s ${fmt(row.w4?.cpuMsPerMiB)} ms/MiB peak ${fmt(row.w4?.peakRssMiB)}` +
      ` | W5 ${row.w5 ? `${row.w5.failed}/${row.w5.sent} failed, ${fmt(row.w5.burstMs)} ms` : '-'} | W6 ${fmt(row.w6StartMiB, 1)}/${fmt(row.w6AfterMiB, 1)} MiB`,
  )
  return row
}

async function benchmark(): Promise<number> {
  const started = performance.now()
  const micro = perTarget ? await runMicro() : []
  const rows: TargetRep[] = []
  let gatewayMd = ''
  if (perTarget) {
    const uploadFile = runs('W4') ? makeUploadFile(durations.transferMiB) : ''
    const upstream = await startUpstream()
    log(`upstream on 127.0.0.1:${upstream.port} (pid ${upstream.pid}); ${reps} rep(s) of ${selected.map((t) => t.name).join(', ')}`)
    try {
      for (let rep = 1; rep <= reps; rep++) {
        // Interleaved and rotated: each rep runs every target once, starting one further along.
        const order = selected.map((_, i) => selected[(i + rep - 1) % selected.length] as TargetSpec)
        log(`rep ${rep}/${reps}: ${order.map((t) => t.name).join(' → ')}`)
        for (const [i, spec] of order.entries()) rows.push(await runTarget(spec, rep, i + 1, upstream, uploadFile))
      }
      // Issue 4's load run: 50 members at 1,000 connections through the gateway, next to local mode.
      if (!opts['no-gateway'] && !opts.quick && !opts.only) {
        log('gateway load run: 50 members, 1,000 connections')
        gatewayMd = renderGatewayLoad(await runGatewayLoad({ seconds: durations === QUICK ? 3 : 10, reps: Math.min(reps, 3), upstreamPort: upstream.port }))
        log('starvation run: one member holds 64 slow uploads, another member sends GETs')
        gatewayMd += `\n${renderStarvation(await runStarvation({ upstreamPort: upstream.port }))}`
      }
    } finally {
      await upstream.stop()
    }
  }
  // Issue 13's workloads bring their own upstream (the simulator) and proxy settings.
  let wan: WanResult | undefined
  let dashboard: DashboardResult | undefined
  if (runsWan) {
    const quiet = quietWaitS > 0 ? await waitForQuiet(quietWaitS, QUIET_THRESHOLD_PCT) : undefined
    log(`WAN: ${wanCalls} fresh curl calls direct and through the proxy, HTTPS upstream ${WAN_DELAY_MS} ms away each way`)
    wan = { ...(await runWan({ calls: wanCalls, delayMs: WAN_DELAY_MS, dir: tmp, home })), ...(quiet ? { quiet } : {}) }
    log(
      `  direct mean ${fmt(wan.direct?.meanMs, 1)} ms p95 ${fmt(wan.direct?.p95Ms, 1)} ms | proxy mean ${fmt(wan.proxy?.meanMs, 1)} ms p95 ${fmt(wan.proxy?.p95Ms, 1)} ms | ratio ${fmt(wan.ratioMean, 2)} / ${fmt(wan.ratioP95, 2)}${wan.error ? ` | ${wan.error}` : ''}`,
    )
  }
  if (runsDashboard) {
    log(`dashboard: 20 pollers × 5 URLs every 2 s for ${dashboardS} s, three proxy settings`)
    dashboard = await runDashboard({ durationS: dashboardS, home })
    for (const run of dashboard.runs)
      log(`  ${run.name}: ${run.status === 'ok' ? `${run.upstream ?? 0} upstream requests (naive ${dashboard.naive})` : `${run.status} ${run.detail ?? ''}`}`)
  }
  const info: RunInfo = {
    timestamp,
    reps,
    quick: opts.quick,
    only: [...only],
    targets: perTarget ? selected.map((t) => t.name) : [],
    durations,
    machine: machineInfo(),
    commands: loggedCommands(),
    elapsedS: (performance.now() - started) / 1000,
  }
  const extraMd = (wan ? `\n${renderWan(wan)}` : '') + (dashboard ? `\n${renderDashboard(dashboard)}` : '')
  const md = perTarget
    ? renderMarkdown(info, rows) + `\n${renderMicro(micro)}` + (gatewayMd ? `\n${gatewayMd}` : '') + extraMd
    : renderExtrasOnly(info) + extraMd
  const floors = computeFloors(rows)
  mkdirSync(outDir, { recursive: true })
  const base = path.join(outDir, `results-${timestamp}${opts.quick ? '-quick' : ''}`)
  writeFileSync(`${base}.md`, `${md}\n`)
  writeFileSync(`${base}.json`, `${JSON.stringify({ info, floors, micro, rows, wan, dashboard }, null, 2)}\n`)
  process.stdout.write(`${md}\n`)
  log(`\nwritten: ${path.relative(REPO_ROOT, base)}.md and .json`)
  const extraFailed = wan?.pass === false || (dashboard !== undefined && dashboardPass(dashboard) === false)
  return opts.check && (floors.some((f) => f.pass === false) || micro.some((m) => !m.pass) || extraFailed) ? 2 : 0
}

/** The report's head when only issue 13's workloads ran (no per-target tables). */
function renderExtrasOnly(info: RunInfo): string {
  return [
    `# c66-proxy benchmark — run ${info.timestamp}`,
    '',
    `Workloads: only ${info.only?.join(', ') ?? ''}${info.quick ? ' (**--quick**: shorter runs; for checking the harness, not for numbers)' : ''}. The proxy pinned to core 0; curl, the relay, the upstream and the harness to core 1. Elapsed ${Math.round(info.elapsedS)} s.`,
    '',
    Object.entries(info.machine)
      .map(([k, v]) => `- ${k}: ${v}`)
      .join('\n'),
    '',
    '## Commands',
    '',
    '```',
    ...commandLines(info.commands),
    '```',
    '',
  ].join('\n')
}

/**
 * --profile: W1 (or, with --only W3 / W4, five downloads / uploads) under node --cpu-prof for each
 * Node target, then a summary of where the CPU went.
 */
async function profile(): Promise<number> {
  const mode = !opts.only || only.has('W1') ? 'W1' : only.has('W3') ? 'W3' : 'W4'
  const TRANSFERS = 5
  const unit = mode === 'W1' ? 'request' : 'MiB'
  const dir = path.join(outDir, `profile-${timestamp}`)
  mkdirSync(dir, { recursive: true })
  const upstream = await startUpstream()
  const uploadFile = mode === 'W4' ? makeUploadFile(durations.transferMiB) : ''
  const compared: ComparedProfile[] = []
  const meta: Array<Record<string, unknown>> = []
  const what =
    mode === 'W1'
      ? `a ${durations.warmupS} s warm-up and a ${durations.loadS} s W1 (50 connections)`
      : `${TRANSFERS} × ${durations.transferMiB} MiB ${mode === 'W3' ? 'downloads (W3)' : 'uploads echoed back (W4)'}`
  const sections: string[] = [`# CPU profiles under ${mode} — ${timestamp}`, '', `Each target ran ${what} under \`node --cpu-prof\`, pinned to core 0.`, '']
  try {
    for (const spec of selected.filter((t) => t.name !== 'direct')) {
      const profDir = path.join(dir, spec.name)
      mkdirSync(profDir)
      log(`profiling ${spec.name} …`)
      const spawned = performance.now()
      const target = await spec.start({ upstreamPort: upstream.port, home, nodeFlags: ['--cpu-prof', '--cpu-prof-dir', profDir] })
      let units = 0
      let cpuUsPerUnit: number | undefined
      let line = ''
      let skipMs = 0
      try {
        await sleep(500)
        // Leave start-up out of the summary: the profile starts (a little after) the spawn.
        skipMs = performance.now() - spawned
        if (mode === 'W1') {
          const w1 = await loadTest(target, 50, durations)
          units = w1.requests + w1.warmupRequests
          cpuUsPerUnit = w1.cpuUsPerReq
          line = `W1 under the profiler: ${fmt(w1.rps)} req/s, ${fmt(w1.cpuUsPerReq)} CPU µs/req (profiler overhead included).`
        } else {
          const speeds: string[] = []
          const costs: number[] = []
          for (let i = 0; i < TRANSFERS; i++) {
            const t = mode === 'W3' ? await download(target, durations) : await upload(target, durations, uploadFile)
            if (t.ok) units += durations.transferMiB
            if (t.cpuMsPerMiB !== undefined) costs.push(t.cpuMsPerMiB * 1000)
            speeds.push(`${fmt(t.mibPerS)} MiB/s (${fmt(t.cpuMsPerMiB, 2)} CPU ms/MiB)`)
          }
          cpuUsPerUnit = costs.length ? costs.reduce((a, b) => a + b, 0) / costs.length : undefined
          line = `${mode} under the profiler: ${speeds.join(', ')} (profiler overhead included).`
        }
      } finally {
        await target.stop()
      }
      const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'))
      if (!file) {
        sections.push(`## ${spec.name}: no .cpuprofile was written`, '')
        continue
      }
      log(`  ${spec.name}: ${line}`)
      sections.push(line, '')
      const summary = summarizeProfile(path.join(profDir, file), 30, skipMs)
      compared.push({ name: spec.name, summary, units, cpuUsPerUnit })
      meta.push({ name: spec.name, file: path.join(profDir, file), skipMs, units, cpuUsPerUnit, mode, line })
      sections.push(renderProfile(spec.name, path.relative(REPO_ROOT, path.join(profDir, file)), summary, units, unit), '')
    }
  } finally {
    await upstream.stop()
  }
  sections.splice(4, 0, renderAreaComparison(compared, unit))
  const md = sections.join('\n')
  writeFileSync(path.join(dir, 'summary.md'), `${md}\n`)
  writeFileSync(path.join(dir, 'profiles.json'), `${JSON.stringify(meta, null, 2)}\n`)
  process.stdout.write(`${md}\n`)
  log(`\nwritten: ${path.relative(REPO_ROOT, dir)}/summary.md`)
  return 0
}

// A hard bound on the whole run, whatever happens inside it.
const perTargetBudgetS = quietWaitS + 2 * (durations.warmupS + durations.loadS + 45) + 130 + 70 + (durations.w5HoldMs / 1000 + 50) + 40
const extraBudgetS = (runsWan ? wanCalls * 2 * 15 + quietWaitS + 60 : 0) + (runsDashboard ? 3 * (dashboardS + 30) : 0)
const budgetS = opts.profile ? selected.length * 600 + 60 : (perTarget ? reps * selected.length * perTargetBudgetS : 0) + extraBudgetS + 120
const watchdog = setTimeout(() => {
  log(`benchmark exceeded its ${budgetS} s bound: stopping`)
  cleanup()
  process.exit(1)
}, budgetS * 1000)

let code = 1
try {
  pinSelf()
  preflight()
  code = opts.profile ? await profile() : await benchmark()
} catch (err) {
  log(`benchmark failed: ${(err as Error).stack ?? String(err)}`)
} finally {
  clearTimeout(watchdog)
  cleanup()
}
process.exit(code)
