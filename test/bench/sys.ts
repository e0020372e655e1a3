// Readers for /proc: a process's CPU time and resident memory, and per-core CPU counters.
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'

let clkTck: number | undefined
/** USER_HZ: the unit of /proc CPU times (100 on Linux almost everywhere). */
export function clockTicks(): number {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
    } catch {
      clkTck = 100
    }
  }
  return clkTck
}

/** utime + stime of a process (all its threads), in clock ticks. */
export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name, which may itself contain spaces and parentheses.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return Number(rest[11]) + Number(rest[12]) // fields 14 (utime) and 15 (stime)
}

function statusField(pid: number, field: string): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) : undefined
  } catch {
    return undefined
  }
}

/** VmRSS in MiB, or undefined once the process is gone. */
export const rssMiB = (pid: number): number | undefined => {
  const kb = statusField(pid, 'VmRSS')
  return kb === undefined ? undefined : kb / 1024
}

/** VmHWM (peak RSS since start or since the last resetPeakRss) in MiB. */
export const hwmMiB = (pid: number): number | undefined => {
  const kb = statusField(pid, 'VmHWM')
  return kb === undefined ? undefined : kb / 1024
}

/** Resets VmHWM to the current RSS (Linux ≥ 4.0, needs write access to clear_refs). */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5')
    return true
  } catch {
    return false
  }
}

export interface CoreTimes {
  readonly busy: number
  readonly total: number
  readonly steal: number
}

/** Per-core counters from /proc/stat, in clock ticks, keyed by core number. */
export function coreTimes(): Map<number, CoreTimes> {
  const out = new Map<number, CoreTimes>()
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line)
    if (!m) continue
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = (m[2] ?? '').split(/\s+/).map(Number)
    const busy = user + nice + system + irq + softirq + steal
    out.set(Number(m[1]), { busy, total: busy + idle + iowait, steal })
  }
  return out
}

/** Samples a process's RSS every `intervalMs` and keeps the largest value seen. */
export class RssSampler {
  private timer: NodeJS.Timeout | undefined
  peak = 0
  samples = 0

  constructor(
    private readonly pid: number,
    private readonly intervalMs = 20,
  ) {}

  start(): this {
    this.sample()
    this.timer = setInterval(() => this.sample(), this.intervalMs)
    return this
  }

  sample(): number | undefined {
    const rss = rssMiB(this.pid)
    if (rss !== undefined) {
      this.samples += 1
      if (rss > this.peak) this.peak = rss
    }
    return rss
  }

  stop(): number {
    clearInterval(this.timer)
    this.sample()
    return this.peak
  }
}

export interface QuietResult {
  readonly waitedS: number
  /** Busy share of all cores over the last 1 s window, %. */
  readonly busyPct: number
  readonly quiet: boolean
}

/**
 * Waits (at most `maxS`) for a 1 s window in which the whole machine is less than `thresholdPct`
 * busy, so a measurement does not start in the middle of someone else's test run.
 */
export async function waitForQuiet(maxS: number, thresholdPct: number): Promise<QuietResult> {
  const started = Date.now()
  let busyPct: number
  do {
    const a = coreTimes()
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    const b = coreTimes()
    let busy = 0
    let total = 0
    for (const [core, y] of b) {
      const x = a.get(core)
      if (!x) continue
      busy += y.busy - x.busy
      total += y.total - x.total
    }
    busyPct = total > 0 ? (busy / total) * 100 : 0
    if (busyPct < thresholdPct) return { waitedS: (Date.now() - started) / 1000, busyPct, quiet: true }
  } while (Date.now() - started < maxS * 1000)
  return { waitedS: (Date.now() - started) / 1000, busyPct, quiet: false }
}
