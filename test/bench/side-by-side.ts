// W1 side by side: two targets on the target core at the same time, each under its own wrk with
// half the connections, both wrk and the upstream on the load core. Whatever slows the machine
// down during a round (other VMs on the host, frequency changes) slows both alike, so the ratio
// of their CPU per request is steady where sequential runs of the same build differ by ±20 %.
// A round where A and B are the same build shows the method's own noise (about ±4 % here).
//
// Usage (after npm run build): node --import tsx test/bench/side-by-side.ts --targets c66-proxy,node-pipe [--rounds 4] [--seconds 8]
// c66-proxy-ref needs C66_BENCH_REF_DIR, as in the main run.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { installCleanup, killAllNow, runCommand } from './procs.js'
import { cpuTicks, clockTicks } from './sys.js'
import { LOAD_CORE, startUpstream, TARGETS } from './targets.js'
import type { RunningTarget } from './targets.js'

const CONNECTIONS_EACH = 25

async function wrk(target: RunningTarget, seconds: number): Promise<number> {
  const url = `http://127.0.0.1:${target.port}/api/3/stacks.json`
  const r = await runCommand('taskset', ['-c', LOAD_CORE, 'wrk', '-t1', `-c${CONNECTIONS_EACH}`, `-d${seconds}s`, '--timeout', '5s', url], {
    timeoutMs: (seconds + 30) * 1000,
  })
  const m = /(\d+) requests in/.exec(r.stdout)
  if (!m) throw new Error(`wrk gave no count for ${target.name}: ${r.stdout} ${r.stderr}`)
  return Number(m[1])
}

/** CPU µs per request of each target over one round in which both were loaded at once. */
async function round(a: RunningTarget, b: RunningTarget, seconds: number): Promise<[number, number]> {
  const pids = [a.pid ?? 0, b.pid ?? 0]
  const before = pids.map(cpuTicks)
  const [na, nb] = await Promise.all([wrk(a, seconds), wrk(b, seconds)])
  const after = pids.map(cpuTicks)
  const usPerTick = 1e6 / clockTicks()
  return [(((after[0] ?? 0) - (before[0] ?? 0)) * usPerTick) / na, (((after[1] ?? 0) - (before[1] ?? 0)) * usPerTick) / nb]
}

export async function sideBySide(names: readonly [string, string], rounds: number, seconds: number): Promise<string> {
  const specs = names.map((name) => {
    const spec = TARGETS.find((t) => t.name === name)
    if (spec === undefined) throw new Error(`unknown target ${name}; known: ${TARGETS.map((t) => t.name).join(', ')}`)
    return spec
  })
  const home = await mkdtemp(join(tmpdir(), 'c66-bench-sbs-'))
  const upstream = await startUpstream()
  const running: RunningTarget[] = []
  const lines = [
    `## W1 side by side: ${names[0]} (A) and ${names[1]} (B) on core 0 at once, ${CONNECTIONS_EACH} connections each, ${seconds} s rounds`,
    '',
    '| round | A CPU µs/req | B CPU µs/req | B / A |',
    '|---|---|---|---|',
  ]
  try {
    for (const spec of specs) running.push(await spec.start({ upstreamPort: upstream.port, home }))
    const [a, b] = running as [RunningTarget, RunningTarget]
    await round(a, b, 3) // warm-up: JIT, pools
    const ratios: number[] = []
    for (let r = 1; r <= rounds; r++) {
      const [ua, ub] = await round(a, b, seconds)
      ratios.push(ub / ua)
      lines.push(`| ${r} | ${ua.toFixed(1)} | ${ub.toFixed(1)} | ${(ub / ua).toFixed(3)} |`)
    }
    const sorted = [...ratios].sort((x, y) => x - y)
    const median = sorted.length % 2 ? (sorted[(sorted.length - 1) / 2] ?? NaN) : ((sorted[sorted.length / 2 - 1] ?? 0) + (sorted[sorted.length / 2] ?? 0)) / 2
    lines.push(
      '',
      `B / A CPU per request: median **${median.toFixed(3)}** (${(sorted[0] ?? NaN).toFixed(3)}–${(sorted.at(-1) ?? NaN).toFixed(3)}); as a capacity ratio A / B: ${(1 / median).toFixed(2)}`,
      '',
    )
  } finally {
    for (const t of running) await t.stop()
    await upstream.stop()
    await rm(home, { recursive: true, force: true })
  }
  return lines.join('\n')
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  installCleanup(() => killAllNow())
  const arg = (name: string, dflt: string) => {
    const i = process.argv.indexOf(name)
    return i === -1 ? dflt : (process.argv[i + 1] ?? dflt)
  }
  const names = arg('--targets', 'c66-proxy,node-pipe').split(',')
  if (names.length !== 2) throw new Error('--targets takes exactly two names: A,B')
  try {
    process.stdout.write(`${await sideBySide([names[0] ?? '', names[1] ?? ''], Number(arg('--rounds', '4')), Number(arg('--seconds', '8')))}\n`)
  } finally {
    killAllNow()
  }
}
