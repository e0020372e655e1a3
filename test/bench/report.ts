// Turns the per-rep measurements into the Markdown tables of performance.md, the ratios of the
// product to node-pipe, and one PASS/FAIL line per floor of the issue.
import type { QuietResult } from './sys.js'
import type { UpstreamStats } from './targets.js'
import { defined, fmt, fmtRange, fmtSummary, summarize, type Summary } from './stats.js'
import type { BurstResult, Durations, TransferResult, WrkResult } from './workloads.js'

export interface TargetRep {
  readonly target: string
  readonly rep: number
  /** Position of this target within its rep (targets are rotated from rep to rep). */
  readonly order: number
  w6StartMiB?: number | undefined
  w6AfterMiB?: number | undefined
  w1?: WrkResult
  w2?: WrkResult
  w3?: TransferResult
  w4?: TransferResult
  w5?: BurstResult
  upstream?: UpstreamStats
  /** How long the harness waited for the machine to calm down before this target, and how busy it was then. */
  quiet?: QuietResult
  /** Fingerprint of dist/ when a c66-proxy target started (see buildFingerprint). */
  build?: string
  readonly errors: string[]
}

export interface RunInfo {
  readonly timestamp: string
  readonly reps: number
  readonly quick: boolean
  readonly only?: readonly string[]
  readonly targets: readonly string[]
  readonly durations: Durations
  readonly machine: Record<string, string>
  readonly commands: readonly string[]
  readonly elapsedS: number
}

export const PRODUCT = 'c66-proxy'
export const BASELINE = 'node-pipe'

export const FLOORS = {
  rpsRatioMin: 0.75,
  addedLatencyRatioMax: 1.3,
  streamRatioMin: 0.9,
  idleRssMaxBytes: 80e6,
  bufferingGrowthMaxMiB: 50,
} as const

export interface Floor {
  readonly name: string
  readonly pass: boolean | undefined
  readonly detail: string
}

type Pick = (r: TargetRep) => number | undefined

/** 1 / pick: turns a cost (CPU per request, per MiB) into a capacity. */
const inv =
  (pick: Pick): Pick =>
  (r) => {
    const v = pick(r)
    return v !== undefined && v > 0 ? 1 / v : undefined
  }

function byTarget(reps: readonly TargetRep[], target: string): TargetRep[] {
  return reps.filter((r) => r.target === target).sort((a, b) => a.rep - b.rep)
}

const col = (reps: readonly TargetRep[], target: string, pick: Pick): Summary | undefined => summarize(byTarget(reps, target).map(pick))

/** Per-rep ratio of two targets (same rep), summarised. */
function ratio(reps: readonly TargetRep[], num: string, den: string, pick: Pick): Summary | undefined {
  const a = byTarget(reps, num)
  const b = byTarget(reps, den)
  return summarize(
    a.map((x) => {
      const y = b.find((r) => r.rep === x.rep)
      const n = pick(x)
      const d = y ? pick(y) : undefined
      return n !== undefined && d !== undefined && d !== 0 ? n / d : undefined
    }),
  )
}

/** W2 p50 of a target minus direct's p50 in the same rep, µs. */
function addedP50(reps: readonly TargetRep[]): Pick {
  return (r) => {
    const direct = reps.find((x) => x.target === 'direct' && x.rep === r.rep)
    if (!r.w2 || !direct?.w2) return undefined
    return r.w2.p50Us - direct.w2.p50Us
  }
}

const growth = (t: TransferResult | undefined) =>
  t?.peakRssMiB !== undefined && t.rssBeforeMiB !== undefined ? Math.max(t.peakRssMiB, t.hwmMiB ?? 0) - t.rssBeforeMiB : undefined

function authSeen(rows: readonly TargetRep[]): string {
  const total = { requests: 0, ok: 0, missing: 0, wrong: 0, xff: 0 }
  for (const r of rows) {
    if (!r.upstream) continue
    total.requests += r.upstream.requests
    total.ok += r.upstream.auth_ok
    total.missing += r.upstream.auth_missing
    total.wrong += r.upstream.auth_wrong
    total.xff += r.upstream.x_forwarded_for
  }
  if (total.requests === 0) return '-'
  const auth = total.ok === total.requests ? 'auth=yes' : total.ok === 0 ? 'auth=no' : `auth=partial (${total.ok}/${total.requests})`
  const extra = [total.wrong > 0 ? `${total.wrong} wrong token` : '', total.xff > 0 ? 'adds X-Forwarded-For' : ''].filter(Boolean)
  return [auth, ...extra].join(', ')
}

export function computeFloors(reps: readonly TargetRep[], product = PRODUCT): Floor[] {
  const floors: Floor[] = []
  const has = (t: string) => reps.some((r) => r.target === t)
  const vs = `${product} / ${BASELINE}`
  if (has(product) && has(BASELINE)) {
    const rps = ratio(reps, product, BASELINE, (r) => r.w1?.rps)
    floors.push({
      name: `W1 requests/s ≥ ${FLOORS.rpsRatioMin}× ${BASELINE}`,
      pass: rps ? rps.median >= FLOORS.rpsRatioMin : undefined,
      detail: `${vs} = ${fmtRange(rps)} (median of per-rep ratios)`,
    })
    const cap = ratio(
      reps,
      product,
      BASELINE,
      inv((r) => r.w1?.cpuUsPerReq),
    )
    floors.push({
      name: `cross-check: W1 per-core capacity (1e6 / CPU µs per request) ≥ ${FLOORS.rpsRatioMin}× ${BASELINE}`,
      pass: cap ? cap.median >= FLOORS.rpsRatioMin : undefined,
      detail: `${vs} = ${fmtRange(cap)}; ${fmtSummary(col(reps, product, (r) => r.w1?.cpuUsPerReq))} vs ${fmtSummary(col(reps, BASELINE, (r) => r.w1?.cpuUsPerReq))} CPU µs/req. Equals the req/s ratio when both saturate core 0; unlike it, does not depend on how much of core 0 neighbours took`,
    })
    const added = addedP50(reps)
    const lat = has('direct') ? ratio(reps, product, BASELINE, added) : undefined
    floors.push({
      name: `W2 added p50 latency ≤ ${FLOORS.addedLatencyRatioMax}× ${BASELINE}'s`,
      pass: lat ? lat.median <= FLOORS.addedLatencyRatioMax : undefined,
      detail: lat
        ? `${vs} = ${fmtRange(lat)}; added p50 ${fmtSummary(col(reps, product, added))} µs vs ${fmtSummary(col(reps, BASELINE, added))} µs`
        : 'needs the direct target',
    })
    const cpu2 = ratio(reps, product, BASELINE, (r) => r.w2?.cpuUsPerReq)
    floors.push({
      name: `cross-check: W2 CPU µs per request (≈ the added latency at c=1) ≤ ${FLOORS.addedLatencyRatioMax}× ${BASELINE}'s`,
      pass: cpu2 ? cpu2.median <= FLOORS.addedLatencyRatioMax : undefined,
      detail: `${vs} = ${fmtRange(cpu2)}; ${fmtSummary(col(reps, product, (r) => r.w2?.cpuUsPerReq))} vs ${fmtSummary(col(reps, BASELINE, (r) => r.w2?.cpuUsPerReq))} µs`,
    })
    for (const [w, label] of [
      ['w3', 'W3 download'],
      ['w4', 'W4 upload'],
    ] as const) {
      const s = ratio(reps, product, BASELINE, (r) => r[w]?.mibPerS)
      floors.push({
        name: `${label} MiB/s ≥ ${FLOORS.streamRatioMin}× ${BASELINE}`,
        pass: s ? s.median >= FLOORS.streamRatioMin : undefined,
        detail: `${vs} = ${fmtRange(s)}; ${fmtSummary(col(reps, product, (r) => r[w]?.mibPerS))} vs ${fmtSummary(col(reps, BASELINE, (r) => r[w]?.mibPerS))} MiB/s`,
      })
      const c = ratio(
        reps,
        product,
        BASELINE,
        inv((r) => r[w]?.cpuMsPerMiB),
      )
      floors.push({
        name: `cross-check: ${label} capacity (1 / CPU ms per MiB) ≥ ${FLOORS.streamRatioMin}× ${BASELINE}`,
        pass: c ? c.median >= FLOORS.streamRatioMin : undefined,
        detail: `${vs} = ${fmtRange(c)}; ${fmtSummary(
          col(reps, product, (r) => r[w]?.cpuMsPerMiB),
          2,
        )} vs ${fmtSummary(
          col(reps, BASELINE, (r) => r[w]?.cpuMsPerMiB),
          2,
        )} CPU ms/MiB`,
      })
    }
  }
  if (has(product)) {
    const idle = col(reps, product, (r) => r.w6StartMiB)
    const limitMiB = FLOORS.idleRssMaxBytes / 1048576
    floors.push({
      name: 'idle RSS after start-up under 80 MB',
      pass: idle ? idle.median < limitMiB : undefined,
      detail: idle
        ? `${fmtSummary(idle)} MiB (${fmt((idle.median * 1048576) / 1e6, 1)} MB; the limit, 80 MB, is ${limitMiB.toFixed(1)} MiB); after all workloads ${fmtSummary(col(reps, product, (r) => r.w6AfterMiB))} MiB`
        : '-',
    })
    const rows = byTarget(reps, product)
    const g3 = defined(rows.map((r) => growth(r.w3)))
    const g4 = defined(rows.map((r) => growth(r.w4)))
    const worst = Math.max(...g3, ...g4)
    const complete = rows.every((r) => r.w3?.ok && r.w4?.ok)
    floors.push({
      name: `no buffering: peak RSS during the transfers ≤ RSS before + ${FLOORS.bufferingGrowthMaxMiB} MiB`,
      pass: g3.length + g4.length > 0 ? worst <= FLOORS.bufferingGrowthMaxMiB && complete : undefined,
      detail: `worst growth over the reps: W3 +${fmt(Math.max(...g3), 1)} MiB, W4 +${fmt(Math.max(...g4), 1)} MiB${complete ? '' : '; some transfers did not complete'}`,
    })
    const errs = rows.reduce((n, r) => n + (r.w1?.errors ?? 0) + (r.w2?.errors ?? 0), 0)
    const w5failed = rows.reduce((n, r) => n + (r.w5?.failed ?? 0), 0)
    const w5sent = rows.reduce((n, r) => n + (r.w5?.sent ?? 0), 0)
    const auth = authSeen(rows)
    floors.push({
      name: 'sanity: no W1/W2 errors, no failed W5 requests, upstream saw the token',
      pass: errs === 0 && w5failed === 0 && auth.startsWith('auth=yes') && rows.every((r) => r.errors.length === 0),
      detail: `W1+W2 errors ${errs}, W5 failed ${w5failed}/${w5sent}, ${auth}${rows.some((r) => r.errors.length) ? `, harness errors: ${rows.flatMap((r) => r.errors).length}` : ''}`,
    })
  }
  return floors
}

const perRep = (rows: readonly TargetRep[], pick: Pick, digits = 0) =>
  rows
    .map((r) => {
      const v = pick(r)
      return v === undefined ? '-' : v.toFixed(digits)
    })
    .join('/')

export function renderMarkdown(info: RunInfo, reps: readonly TargetRep[]): string {
  const targets = info.targets
  const hasPipe = targets.includes(BASELINE)
  const added = addedP50(reps)
  const out: string[] = []
  const d = info.durations
  out.push(`# c66-proxy benchmark — run ${info.timestamp}`)
  out.push('')
  out.push(
    `${info.reps} interleaved rep(s)${info.quick ? ' (**--quick**: shorter runs, smaller transfers; for checking the harness, not for numbers)' : ''}; ` +
      `W1/W2 ${d.warmupS} s warm-up + ${d.loadS} s; W3/W4 ${d.transferMiB} MiB; W5 ${d.w5Conns} connections held ${d.w5HoldMs} ms. ` +
      `${info.only && info.only.length < 5 ? `Workloads: only ${info.only.join(', ')} (and W6). ` : ''}Targets pinned to core 0, wrk/curl/upstream/harness to core 1. Cells are "median ±half-range %" over the reps; ratios are per-rep ratios, "median (min–max)". Elapsed ${Math.round(info.elapsedS)} s.`,
  )
  out.push('')
  out.push(
    Object.entries(info.machine)
      .map(([k, v]) => `- ${k}: ${v}`)
      .join('\n'),
  )
  out.push('')
  const builds = [...new Set(reps.map((r) => r.build).filter((b): b is string => b !== undefined))]
  if (builds.length > 1) {
    out.push(
      `> **dist/ was rebuilt during this run** (by someone else working in the checkout): the c66-proxy targets ran ${builds.length} different builds (${builds.join(', ')}; per rep in the JSON). Compare reps with care.`,
    )
    out.push('')
  }
  const proxied = reps.filter((r) => r.target !== 'direct')
  const other = summarize(proxied.map((r) => r.w1?.otherLoadTargetCorePct))
  const busyBefore = summarize(reps.map((r) => r.quiet?.busyPct))
  if ((other && other.median > 10) || (busyBefore && busyBefore.median > 50)) {
    out.push(
      `> **The machine was busy with other work during this run**: other processes took ${fmt(other?.median, 0)} % of core 0 during the targets' W1 (median over targets and reps)` +
        `${busyBefore ? `, and the machine was ${fmt(busyBefore.median, 0)} % busy just before the targets started` : ''}. ` +
        'req/s, latency and MiB/s then measure how much CPU each target was given as much as how fast it is. ' +
        'Read the CPU-based columns and cross-checks (CPU µs per request, CPU ms per MiB) first, and re-run on a quiet machine before trusting the other verdicts.',
    )
    out.push('')
  }

  out.push('## Throughput, latency, streaming (W1, W2, W3, W4, W6)')
  out.push('')
  out.push(
    `| target | W1 req/s | W1 p99 ms | W2 p50 added vs direct µs | W3 MiB/s | W4 MiB/s | W3 peak RSS MiB | W6 idle RSS MiB |${hasPipe ? ' W1 ×node-pipe | W3 ×node-pipe | W4 ×node-pipe |' : ''}`,
  )
  out.push(`|---|---|---|---|---|---|---|---|${hasPipe ? '---|---|---|' : ''}`)
  for (const t of targets) {
    const cells = [
      t,
      fmtSummary(col(reps, t, (r) => r.w1?.rps)),
      fmtSummary(
        col(reps, t, (r) => (r.w1 ? r.w1.p99Us / 1000 : undefined)),
        2,
      ),
      t === 'direct' ? `(p50 ${fmtSummary(col(reps, t, (r) => r.w2?.p50Us))})` : fmtSummary(col(reps, t, added)),
      fmtSummary(col(reps, t, (r) => r.w3?.mibPerS)),
      fmtSummary(col(reps, t, (r) => r.w4?.mibPerS)),
      fmtSummary(col(reps, t, (r) => r.w3?.peakRssMiB)),
      fmtSummary(col(reps, t, (r) => r.w6StartMiB)),
    ]
    if (hasPipe) {
      cells.push(fmtRange(ratio(reps, t, BASELINE, (r) => r.w1?.rps)))
      cells.push(fmtRange(ratio(reps, t, BASELINE, (r) => r.w3?.mibPerS)))
      cells.push(fmtRange(ratio(reps, t, BASELINE, (r) => r.w4?.mibPerS)))
    }
    out.push(`| ${cells.join(' | ')} |`)
  }
  out.push('')

  out.push('## CPU, latency detail, memory, idle connections (W1, W2, W4, W5, W6)')
  out.push('')
  out.push(
    '| target | W1 CPU µs/req | W1 capacity req/s per core (1e6 / CPU µs) | W1 p50 ms | W1 errors | W2 p50 µs | W2 p99 µs | W2 CPU µs/req | W4 peak RSS MiB | W5 idle RSS MiB | W5 RSS 1k conns open MiB | W5 peak RSS MiB | W5 burst ms | W5 failed/sent | W6 RSS after all MiB | core-0 other load % during W1 (per rep) | core-1 busy % during W1 (per rep) | upstream saw |',
  )
  out.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|')
  for (const t of targets) {
    const rows = byTarget(reps, t)
    const sum = (pick: Pick) => rows.reduce((n, r) => n + (pick(r) ?? 0), 0)
    const cpu = col(reps, t, (r) => r.w1?.cpuUsPerReq)
    out.push(
      `| ${[
        t,
        cpu ? `**${fmtSummary(cpu)}**` : '-',
        fmtSummary(col(reps, t, (r) => (r.w1?.cpuUsPerReq ? 1e6 / r.w1.cpuUsPerReq : undefined))),
        fmtSummary(
          col(reps, t, (r) => (r.w1 ? r.w1.p50Us / 1000 : undefined)),
          2,
        ),
        String(sum((r) => r.w1?.errors)),
        fmtSummary(col(reps, t, (r) => r.w2?.p50Us)),
        fmtSummary(col(reps, t, (r) => r.w2?.p99Us)),
        fmtSummary(col(reps, t, (r) => r.w2?.cpuUsPerReq)),
        fmtSummary(col(reps, t, (r) => r.w4?.peakRssMiB)),
        fmtSummary(col(reps, t, (r) => r.w5?.rssIdleBeforeMiB)),
        fmtSummary(col(reps, t, (r) => r.w5?.rssConnsOpenMiB)),
        fmtSummary(col(reps, t, (r) => r.w5?.peakRssMiB)),
        fmtSummary(col(reps, t, (r) => r.w5?.burstMs)),
        `${sum((r) => r.w5?.failed)}/${sum((r) => r.w5?.sent)}`,
        fmtSummary(col(reps, t, (r) => r.w6AfterMiB)),
        perRep(rows, (r) => r.w1?.otherLoadTargetCorePct),
        perRep(rows, (r) => r.w1?.loadCoreBusyPct),
        authSeen(rows),
      ].join(' | ')} |`,
    )
  }
  out.push('')

  out.push('## Streaming (W3 download, W4 upload): target CPU per MiB, and RSS before the transfer, peak during it (20 ms samples), growth, VmHWM (MiB)')
  out.push('')
  out.push(
    '| target | W3 CPU ms/MiB | W3 core-0 use % | W4 CPU ms/MiB | W4 core-0 use % | W3 RSS before | W3 peak | W3 growth (worst rep) | W3 VmHWM | W4 RSS before | W4 peak | W4 growth (worst rep) | W4 VmHWM | transfers complete |',
  )
  out.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|')
  for (const t of targets.filter((x) => x !== 'direct')) {
    const rows = byTarget(reps, t)
    const worst = (w: 'w3' | 'w4') => {
      const g = defined(rows.map((r) => growth(r[w])))
      return g.length ? `+${fmt(Math.max(...g), 1)}` : '-'
    }
    out.push(
      `| ${[
        t,
        fmtSummary(
          col(reps, t, (r) => r.w3?.cpuMsPerMiB),
          2,
        ),
        fmtSummary(col(reps, t, (r) => r.w3?.targetCorePct)),
        fmtSummary(
          col(reps, t, (r) => r.w4?.cpuMsPerMiB),
          2,
        ),
        fmtSummary(col(reps, t, (r) => r.w4?.targetCorePct)),
        fmtSummary(col(reps, t, (r) => r.w3?.rssBeforeMiB)),
        fmtSummary(col(reps, t, (r) => r.w3?.peakRssMiB)),
        worst('w3'),
        fmtSummary(col(reps, t, (r) => r.w3?.hwmMiB)),
        fmtSummary(col(reps, t, (r) => r.w4?.rssBeforeMiB)),
        fmtSummary(col(reps, t, (r) => r.w4?.peakRssMiB)),
        worst('w4'),
        fmtSummary(col(reps, t, (r) => r.w4?.hwmMiB)),
        `${rows.filter((r) => r.w3?.ok).length + rows.filter((r) => r.w4?.ok).length}/${rows.length * 2}`,
      ].join(' | ')} |`,
    )
  }
  out.push('')

  const products = [PRODUCT, 'c66-proxy-warn'].filter((p) => targets.includes(p))
  if (hasPipe && products.length > 0) {
    out.push(`## Ratios to ${BASELINE} (per-rep ratios: median (min–max))`)
    out.push('')
    out.push(
      "CPU-based columns divide the pipe's CPU per request (or per MiB) by the target's: what one core could carry, relative to node-pipe. They barely move when neighbours take part of core 0, unlike req/s, latency and MiB/s.",
    )
    out.push('')
    out.push(
      '| target | W1 req/s ratio | W1 per-core capacity ratio (CPU-based) | W2 added p50 ratio | W2 CPU µs/req ratio | W3 MiB/s ratio | W3 capacity ratio (CPU-based) | W4 MiB/s ratio | W4 capacity ratio (CPU-based) |',
    )
    out.push('|---|---|---|---|---|---|---|---|---|')
    for (const p of products) {
      out.push(
        `| ${[
          `${p} / ${BASELINE}`,
          fmtRange(ratio(reps, p, BASELINE, (r) => r.w1?.rps)),
          fmtRange(
            ratio(
              reps,
              p,
              BASELINE,
              inv((r) => r.w1?.cpuUsPerReq),
            ),
          ),
          targets.includes('direct') ? fmtRange(ratio(reps, p, BASELINE, added)) : '-',
          fmtRange(ratio(reps, p, BASELINE, (r) => r.w2?.cpuUsPerReq)),
          fmtRange(ratio(reps, p, BASELINE, (r) => r.w3?.mibPerS)),
          fmtRange(
            ratio(
              reps,
              p,
              BASELINE,
              inv((r) => r.w3?.cpuMsPerMiB),
            ),
          ),
          fmtRange(ratio(reps, p, BASELINE, (r) => r.w4?.mibPerS)),
          fmtRange(
            ratio(
              reps,
              p,
              BASELINE,
              inv((r) => r.w4?.cpuMsPerMiB),
            ),
          ),
        ].join(' | ')} |`,
      )
    }
    if (products.length === 2) {
      const diff = summarize(
        byTarget(reps, PRODUCT).map((x) => {
          const y = reps.find((r) => r.target === 'c66-proxy-warn' && r.rep === x.rep)
          return x.w1?.cpuUsPerReq !== undefined && y?.w1?.cpuUsPerReq !== undefined ? x.w1.cpuUsPerReq - y.w1.cpuUsPerReq : undefined
        }),
      )
      out.push('')
      out.push(
        `Cost of the per-request log line (c66-proxy − c66-proxy-warn, W1 CPU µs/req, per rep): ${fmtRange(diff, 1)} µs; req/s ratio info/warn ${fmtRange(ratio(reps, PRODUCT, 'c66-proxy-warn', (r) => r.w1?.rps))}.`,
      )
    }
    out.push('')
  }

  const floors = computeFloors(reps)
  if (floors.length > 0) {
    out.push(`## Floors (${PRODUCT})`)
    out.push('')
    for (const f of floors) out.push(`- **${f.pass === undefined ? 'N/A ' : f.pass ? 'PASS' : 'FAIL'}** ${f.name}: ${f.detail}`)
    if (targets.includes('c66-proxy-warn')) {
      out.push('')
      out.push('For comparison, the same floors for c66-proxy-warn:')
      out.push('')
      for (const f of computeFloors(reps, 'c66-proxy-warn')) out.push(`- ${f.pass === undefined ? 'N/A' : f.pass ? 'pass' : 'fail'} ${f.name}: ${f.detail}`)
    }
    out.push('')
  }

  const problems = reps.filter((r) => r.errors.length > 0 || r.w3?.error || r.w4?.error || r.w5?.error)
  if (problems.length > 0) {
    out.push('## Problems during the run')
    out.push('')
    for (const r of problems) {
      for (const e of [...r.errors, r.w3?.error && `W3: ${r.w3.error}`, r.w4?.error && `W4: ${r.w4.error}`, r.w5?.error && `W5: ${r.w5.error}`]) {
        if (e) out.push(`- rep ${r.rep} ${r.target}: ${e.replace(/\n/g, ' ⏎ ')}`)
      }
    }
    out.push('')
  }

  out.push('## Per-rep values')
  out.push('')
  out.push(
    '| rep | order | target | machine busy before % (waited s) | W1 req/s | W1 CPU µs/req | W1 p99 ms | core-0 other % in W1 | W2 p50 µs | W3 MiB/s | W4 MiB/s | W5 burst ms | W6 start/after MiB |',
  )
  out.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|')
  for (const r of [...reps].sort((a, b) => a.rep - b.rep || a.order - b.order)) {
    const q = r.quiet ? `${r.quiet.busyPct.toFixed(0)} (${r.quiet.waitedS.toFixed(0)})` : '-'
    out.push(
      `| ${[
        r.rep,
        r.order,
        r.target,
        q,
        fmt(r.w1?.rps),
        fmt(r.w1?.cpuUsPerReq),
        fmt(r.w1 && r.w1.p99Us / 1000, 2),
        fmt(r.w1?.otherLoadTargetCorePct, 0),
        fmt(r.w2?.p50Us),
        fmt(r.w3?.mibPerS),
        fmt(r.w4?.mibPerS),
        fmt(r.w5?.burstMs),
        `${fmt(r.w6StartMiB, 1)}/${fmt(r.w6AfterMiB, 1)}`,
      ].join(' | ')} |`,
    )
  }
  out.push('')
  out.push('## Commands')
  out.push('')
  out.push('```')
  out.push(...commandLines(info.commands))
  out.push('```')
  return out.join('\n')
}

/** The command log without its ports and temporary paths, each distinct line once. */
export function commandLines(commands: readonly string[]): string[] {
  return [
    ...new Set(
      commands.map((c) =>
        c
          .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:PORT')
          .replace(/--port \d+/g, '--port PORT')
          .replace(/\/tmp\/[^ ]+/g, 'TMP'),
      ),
    ),
  ]
}
