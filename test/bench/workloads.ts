// W1–W6, as in /work/shared/reference/performance.md. Load generators run on the load core;
// the target's CPU and memory are read from /proc around and during each workload.
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { runCommand } from './procs.js'
import { median } from './stats.js'
import { clockTicks, coreTimes, cpuTicks, hwmMiB, resetPeakRss, rssMiB, RssSampler, type CoreTimes } from './sys.js'
import { LOAD_CORE, TARGET_CORE, type RunningTarget } from './targets.js'

const BENCH_DIR = fileURLToPath(new URL('./', import.meta.url))
export const STACKS_PATH = '/api/3/stacks.json'

export interface Durations {
  readonly warmupS: number
  readonly loadS: number
  readonly transferMiB: number
  readonly w5Conns: number
  readonly w5HoldMs: number
}

export const FULL: Durations = { warmupS: 3, loadS: 10, transferMiB: 200, w5Conns: 1000, w5HoldMs: 2000 }
export const QUICK: Durations = { warmupS: 1, loadS: 3, transferMiB: 20, w5Conns: 1000, w5HoldMs: 1000 }

export interface WrkResult {
  readonly requests: number
  /** Requests completed during the warm-up run before the measured one. */
  readonly warmupRequests: number
  readonly durationS: number
  readonly rps: number
  readonly p50Us: number
  readonly p90Us: number
  readonly p99Us: number
  readonly meanUs: number
  readonly maxUs: number
  readonly errorsStatus: number
  readonly errorsSocket: number
  readonly errors: number
  /** Target CPU per completed request, µs (undefined for `direct`). */
  readonly cpuUsPerReq: number | undefined
  /** Target core busy with anything but the target, % (neighbours' load; hypervisor steal included). */
  readonly otherLoadTargetCorePct: number | undefined
  /** Load core busy, % (wrk + upstream: near 100 means the load side may be the limit). */
  readonly loadCoreBusyPct: number | undefined
  readonly stealPct: number | undefined
}

const pct = (part: number, whole: number) => (whole > 0 ? (part / whole) * 100 : undefined)

function coreDelta(a: Map<number, CoreTimes>, b: Map<number, CoreTimes>, core: number) {
  const x = a.get(core)
  const y = b.get(core)
  if (!x || !y) return undefined
  return { busy: y.busy - x.busy, total: y.total - x.total, steal: y.steal - x.steal }
}

async function wrk(target: RunningTarget, conns: number, seconds: number): Promise<{ json: Record<string, number>; raw: string }> {
  const args = [
    '-c',
    LOAD_CORE,
    'wrk',
    '-t1',
    `-c${conns}`,
    `-d${seconds}s`,
    '--timeout',
    '5s',
    '--latency',
    '-s',
    `${BENCH_DIR}wrk-report.lua`,
    ...(target.clientAuth ? ['-H', `Authorization: ${target.clientAuth}`] : []),
    `http://127.0.0.1:${target.port}${STACKS_PATH}`,
  ]
  const r = await runCommand('taskset', args, { timeoutMs: (seconds + 20) * 1000 })
  const line = r.stdout.split('\n').find((l) => l.startsWith('BENCH_JSON '))
  if (r.timedOut || !line) throw new Error(`wrk failed (code ${r.code}${r.timedOut ? ', timed out' : ''}): ${(r.stderr || r.stdout).slice(-500)}`)
  return { json: JSON.parse(line.slice('BENCH_JSON '.length)) as Record<string, number>, raw: r.stdout }
}

/** W1 (conns=50) and W2 (conns=1): warm-up, then the measured run with the target's CPU time around it. */
export async function loadTest(target: RunningTarget, conns: number, d: Durations): Promise<WrkResult> {
  const warm = await wrk(target, conns, d.warmupS)
  const pid = target.pid
  const cpu0 = pid !== undefined ? cpuTicks(pid) : 0
  const cores0 = coreTimes()
  const { json } = await wrk(target, conns, d.loadS)
  const cores1 = coreTimes()
  const cpu1 = pid !== undefined ? cpuTicks(pid) : 0
  const n = (k: string) => json[k] ?? 0
  const requests = n('requests')
  const durationS = n('duration_us') / 1e6
  const targetTicks = cpu1 - cpu0
  const tc = coreDelta(cores0, cores1, Number(TARGET_CORE))
  const lc = coreDelta(cores0, cores1, Number(LOAD_CORE))
  const errorsSocket = n('err_connect') + n('err_read') + n('err_write') + n('err_timeout')
  return {
    requests,
    durationS,
    warmupRequests: warm.json['requests'] ?? 0,
    rps: durationS > 0 ? requests / durationS : 0,
    p50Us: n('p50'),
    p90Us: n('p90'),
    p99Us: n('p99'),
    meanUs: n('lat_mean'),
    maxUs: n('lat_max'),
    errorsStatus: n('err_status'),
    errorsSocket,
    errors: n('err_status') + errorsSocket,
    cpuUsPerReq: pid !== undefined && requests > 0 ? ((targetTicks / clockTicks()) * 1e6) / requests : undefined,
    otherLoadTargetCorePct: tc ? pct(Math.max(0, tc.busy - (pid !== undefined ? targetTicks : 0)), tc.total) : undefined,
    loadCoreBusyPct: lc ? pct(lc.busy, lc.total) : undefined,
    stealPct: tc && lc ? pct(tc.steal + lc.steal, tc.total + lc.total) : undefined,
  }
}

export interface TransferResult {
  readonly ok: boolean
  readonly httpCode: number
  readonly bytesDown: number
  readonly bytesUp: number
  readonly seconds: number
  readonly mibPerS: number | undefined
  readonly rssBeforeMiB: number | undefined
  /** Largest of the 20 ms RSS samples during the transfer. */
  readonly peakRssMiB: number | undefined
  /** VmHWM after the transfer, reset just before it (cross-check of the sampled peak). */
  readonly hwmMiB: number | undefined
  readonly rssSamples: number
  /** Target CPU per MiB moved in the measured direction, ms: 1000 / this = MiB/s one core could carry. */
  readonly cpuMsPerMiB: number | undefined
  /** Share of one core the target used during the transfer, %. */
  readonly targetCorePct: number | undefined
  readonly error: string | undefined
}

async function transfer(target: RunningTarget, curlArgs: string[], expectBytes: number, direction: 'down' | 'up', maxTimeS: number): Promise<TransferResult> {
  const pid = target.pid
  const rssBefore = pid !== undefined ? rssMiB(pid) : undefined
  const hwmReset = pid !== undefined && resetPeakRss(pid)
  const sampler = pid !== undefined ? new RssSampler(pid, 20).start() : undefined
  const cpu0 = pid !== undefined ? cpuTicks(pid) : undefined
  const args = [
    '-c',
    LOAD_CORE,
    'curl',
    '-sS',
    '-o',
    '/dev/null',
    '--max-time',
    String(maxTimeS),
    '--connect-timeout',
    '5',
    '-w',
    '%{http_code} %{size_download} %{size_upload} %{time_total}',
    ...(target.clientAuth ? ['-H', `Authorization: ${target.clientAuth}`] : []),
    ...curlArgs,
  ]
  const r = await runCommand('taskset', args, { timeoutMs: (maxTimeS + 10) * 1000 })
  const peak = sampler?.stop()
  const cpuS = pid !== undefined && cpu0 !== undefined ? (cpuTicks(pid) - cpu0) / clockTicks() : undefined
  const hwm = hwmReset && pid !== undefined ? hwmMiB(pid) : undefined
  const [code = 0, down = 0, up = 0, total = 0] = r.stdout.trim().split(/\s+/).map(Number)
  const bytes = direction === 'down' ? down : up
  const complete = code === 200 && down === expectBytes && (direction === 'down' || up === expectBytes)
  const error = complete
    ? undefined
    : `curl code ${r.code}, http ${code}, down ${down} up ${up} of ${expectBytes}${r.timedOut ? ' (killed)' : ''} ${r.stderr.trim()}`.trim()
  return {
    ok: complete,
    httpCode: code,
    bytesDown: down,
    bytesUp: up,
    seconds: total,
    mibPerS: complete && total > 0 ? bytes / 1048576 / total : undefined,
    rssBeforeMiB: rssBefore,
    peakRssMiB: peak,
    hwmMiB: hwm,
    rssSamples: sampler?.samples ?? 0,
    cpuMsPerMiB: complete && cpuS !== undefined && bytes > 0 ? (cpuS * 1000) / (bytes / 1048576) : undefined,
    targetCorePct: complete && cpuS !== undefined && total > 0 ? (cpuS / total) * 100 : undefined,
    error,
  }
}

/** Measured transfers per W3/W4 run, after one that warms the target up. */
export const MEASURED_TRANSFERS = 3

/**
 * W3/W4 measure a warm target, as W1 does after its warm-up: one transfer that is not measured, then
 * the median of MEASURED_TRANSFERS. A target's first 200 MiB transfer cost every Node target (the
 * pipe included) 1.2–2× the CPU per MiB of the later ones (JIT, TCP buffers), so a single cold
 * transfer per rep measured mostly that warm-up (bench: W4 ratios of 0.51–1.17 within one run).
 * RSS: the transfer whose peak grew most over its own start is reported, for the no-buffering floor.
 */
async function warmTransfers(run: () => Promise<TransferResult>): Promise<TransferResult> {
  const warm = await run()
  if (!warm.ok) return warm
  const results: TransferResult[] = []
  for (let i = 0; i < MEASURED_TRANSFERS; i++) {
    const r = await run()
    if (!r.ok) return r
    results.push(r)
  }
  const mid = (pick: (r: TransferResult) => number | undefined) => median(results.map(pick).filter((x): x is number => x !== undefined))
  const growth = (r: TransferResult) => (r.peakRssMiB ?? 0) - (r.rssBeforeMiB ?? 0)
  const worst = results.reduce((a, b) => (growth(b) > growth(a) ? b : a))
  return {
    ...worst,
    seconds: mid((r) => r.seconds) ?? worst.seconds,
    mibPerS: mid((r) => r.mibPerS),
    cpuMsPerMiB: mid((r) => r.cpuMsPerMiB),
    targetCorePct: mid((r) => r.targetCorePct),
  }
}

/** W3: download N MiB through the target. */
export function download(target: RunningTarget, d: Durations): Promise<TransferResult> {
  return transfer(target, [`http://127.0.0.1:${target.port}/api/3/big?mb=${d.transferMiB}`], d.transferMiB * 1048576, 'down', 120)
}

/** W4: upload N MiB, echoed back by the upstream while it is still arriving. */
export function upload(target: RunningTarget, d: Durations, file: string): Promise<TransferResult> {
  return transfer(
    target,
    ['-H', 'Expect:', '-H', 'Content-Type: application/octet-stream', '-X', 'POST', '-T', file, `http://127.0.0.1:${target.port}/api/3/echo`],
    d.transferMiB * 1048576,
    'up',
    60,
  )
}

/** W3 as measured: a warm-up download, then the median of MEASURED_TRANSFERS. */
export const measuredDownload = (target: RunningTarget, d: Durations) => warmTransfers(() => download(target, d))

/** W4 as measured: a warm-up upload, then the median of MEASURED_TRANSFERS. */
export const measuredUpload = (target: RunningTarget, d: Durations, file: string) => warmTransfers(() => upload(target, d, file))

export interface BurstResult {
  readonly sent: number
  readonly failed: number
  readonly burstMs: number | undefined
  readonly openMs: number | undefined
  readonly rssIdleBeforeMiB: number | undefined
  /** RSS once every connection is open and idle. */
  readonly rssConnsOpenMiB: number | undefined
  readonly peakRssMiB: number | undefined
  readonly errors: Record<string, number>
  /** Completion time of the burst's requests, from the moment they were sent. */
  readonly latencyMs?: { p50: number | null; p90: number | null; p99: number | null; max: number | null }
  readonly error: string | undefined
}

/** W5: N idle keep-alive connections held, then one request on each at once. */
export async function idleBurst(target: RunningTarget, d: Durations): Promise<BurstResult> {
  const pid = target.pid
  const rssBefore = pid !== undefined ? rssMiB(pid) : undefined
  const sampler = pid !== undefined ? new RssSampler(pid, 20).start() : undefined
  let rssOpen: number | undefined
  const args = [
    '-c',
    LOAD_CORE,
    process.execPath,
    `${BENCH_DIR}w5-idle-burst.mjs`,
    '--port',
    String(target.port),
    '--conns',
    String(d.w5Conns),
    '--hold-ms',
    String(d.w5HoldMs),
    '--path',
    STACKS_PATH,
    '--timeout-ms',
    '15000',
    ...(target.clientAuth ? ['--auth', target.clientAuth] : []),
  ]
  const r = await runCommand('taskset', args, {
    timeoutMs: d.w5HoldMs + 45_000,
    onLine: (line) => {
      if (line.startsWith('OPEN ')) rssOpen = sampler?.sample()
    },
  })
  const peak = sampler?.stop()
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '))
  if (!line) {
    return {
      sent: d.w5Conns,
      failed: d.w5Conns,
      burstMs: undefined,
      openMs: undefined,
      rssIdleBeforeMiB: rssBefore,
      rssConnsOpenMiB: rssOpen,
      peakRssMiB: peak,
      errors: {},
      error: `w5 client failed (code ${r.code}): ${r.stderr.slice(-300)}`,
    }
  }
  const res = JSON.parse(line.slice('RESULT '.length)) as {
    sent: number
    failed: number
    burst_ms: number
    open_ms: number
    errors: Record<string, number>
    latency_ms: NonNullable<BurstResult['latencyMs']>
  }
  return {
    sent: res.sent,
    failed: res.failed,
    burstMs: res.burst_ms,
    openMs: res.open_ms,
    rssIdleBeforeMiB: rssBefore,
    rssConnsOpenMiB: rssOpen,
    peakRssMiB: peak,
    errors: res.errors,
    latencyMs: res.latency_ms,
    error: undefined,
  }
}

/** W6: RSS of a process left alone for `settleMs`. */
export async function idleRss(pid: number | undefined, settleMs: number): Promise<number | undefined> {
  if (pid === undefined) return undefined
  await sleep(settleMs)
  return rssMiB(pid)
}
