// Summarises a V8 .cpuprofile (node --cpu-prof): where the target's CPU goes, by function
// (self and inclusive time) and by area (Node core module, npm package, the product's own code).
import { readFileSync } from 'node:fs'

interface CallFrame {
  functionName: string
  url: string
  lineNumber: number
  columnNumber: number
}
interface ProfileNode {
  id: number
  callFrame: CallFrame
  children?: number[]
}
interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
  startTime: number
  endTime: number
}

export interface ProfileRow {
  readonly key: string
  readonly ms: number
  readonly pct: number
}

export interface ProfileSummary {
  /** Sampled time the thread was not idle. */
  readonly totalMs: number
  readonly idleMs: number
  readonly samples: number
  readonly self: readonly ProfileRow[]
  readonly inclusive: readonly ProfileRow[]
  readonly areas: readonly ProfileRow[]
  /** Inclusive time of frames in the product (dist/) and npm packages only: the entry points that cost. */
  readonly ownInclusive: readonly ProfileRow[]
  /** Every area's self time, ms. */
  readonly allAreas: ReadonlyMap<string, number>
}

const shortUrl = (url: string): string => {
  if (url === '') return ''
  const nm = url.lastIndexOf('/node_modules/')
  if (nm !== -1) return url.slice(nm + '/node_modules/'.length)
  const dist = url.indexOf('/dist/')
  if (dist !== -1) return url.slice(dist + 1)
  return url.replace(/^file:\/\//, '')
}

/** Which part of the stack a frame belongs to. */
export function areaOf(frame: CallFrame): string {
  const { url, functionName } = frame
  if (url === '') return functionName.startsWith('(') ? functionName : '(native/builtin)'
  if (url.startsWith('node:')) {
    const parts = url.slice(5).split('/')
    return `node:${parts[0] === 'internal' && parts.length > 2 ? `internal/${parts[1] ?? ''}` : parts.join('/')}`
  }
  const nm = url.lastIndexOf('/node_modules/')
  if (nm !== -1) {
    const parts = url.slice(nm + '/node_modules/'.length).split('/')
    return `npm:${parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1] ?? ''}` : (parts[0] ?? '')}`
  }
  const dist = url.indexOf('/dist/')
  if (dist !== -1)
    return `c66-proxy:${
      url
        .slice(dist + 6)
        .split('/')
        .slice(0, -1)
        .join('/') || '.'
    }`
  return shortUrl(url)
}

const frameKey = (f: CallFrame) => `${f.functionName || '(anonymous)'} ${shortUrl(f.url)}${f.url ? `:${f.lineNumber + 1}` : ''}`

/** `skipMs`: ignore samples from the profile's first milliseconds (start-up). */
export function summarizeProfile(file: string, top = 30, skipMs = 0): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const byId = new Map<number, ProfileNode>()
  const parent = new Map<number, number>()
  for (const n of profile.nodes) {
    byId.set(n.id, n)
    for (const c of n.children ?? []) parent.set(c, n.id)
  }
  const self = new Map<string, number>()
  const inclusive = new Map<string, number>()
  const areas = new Map<string, number>()
  const own = new Map<string, number>()
  let total = 0
  let idle = 0
  // timeDeltas[i] is the time before sample i; the sample's cost is the next delta.
  let at = 0
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0
    if (at < skipMs * 1000) continue
    const id = profile.samples[i] ?? 0
    const dt = profile.timeDeltas[i + 1] ?? 0
    const node = byId.get(id)
    if (!node || dt <= 0) continue
    if (node.callFrame.functionName === '(idle)') {
      idle += dt
      continue
    }
    total += dt
    const k = frameKey(node.callFrame)
    self.set(k, (self.get(k) ?? 0) + dt)
    // Native frames (writev, writeLatin1String, …) count for the nearest JavaScript caller's area.
    let areaFrame = node.callFrame
    for (let cur = parent.get(id); areaFrame.url === '' && !areaFrame.functionName.startsWith('(') && cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)?.callFrame
      if (f && f.url !== '') areaFrame = f
    }
    const area = areaOf(areaFrame)
    areas.set(area, (areas.get(area) ?? 0) + dt)
    const seen = new Set<string>()
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)?.callFrame
      if (!f || f.functionName === '(root)') continue
      const key = frameKey(f)
      if (seen.has(key)) continue
      seen.add(key)
      inclusive.set(key, (inclusive.get(key) ?? 0) + dt)
      if (f.url.includes('/node_modules/') || f.url.includes('/dist/')) own.set(key, (own.get(key) ?? 0) + dt)
    }
  }
  const rows = (m: Map<string, number>, n: number): ProfileRow[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([key, us]) => ({ key, ms: us / 1000, pct: total > 0 ? (us / total) * 100 : 0 }))
  return {
    totalMs: total / 1000,
    idleMs: idle / 1000,
    samples: profile.samples.length,
    self: rows(self, top),
    inclusive: rows(inclusive, top),
    areas: rows(areas, 40),
    ownInclusive: rows(own, top),
    allAreas: new Map([...areas].map(([k, us]) => [k, us / 1000])),
  }
}

export function renderProfile(name: string, file: string, s: ProfileSummary, requests: number | undefined, unit = 'request'): string {
  const perReq = (ms: number) => (requests ? ` | ${((ms * 1000) / requests).toFixed(1)}` : ' | -')
  const table = (title: string, rows: readonly ProfileRow[]) => [
    `### ${name}: ${title}`,
    '',
    `| function / area | ms | % of busy time | µs per ${unit} |`,
    '|---|---|---|---|',
    ...rows.map((r) => `| \`${r.key.replace(/\|/g, '\\|')}\` | ${r.ms.toFixed(0)} | ${r.pct.toFixed(1)}${perReq(r.ms)} |`),
    '',
  ]
  return [
    `## Profile of ${name}`,
    '',
    `${file}: ${s.samples} samples; ${s.totalMs.toFixed(0)} ms busy and ${s.idleMs.toFixed(0)} ms idle from the start of the workload to shutdown (start-up left out)${requests ? `; ${requests} ${unit}s in all (per-${unit} figures divide the profile by that, so shutdown is spread over them too)` : ''}.`,
    '',
    ...table('self time by area (native frames counted for their JavaScript caller)', s.areas),
    ...table('top self time by function', s.self),
    ...table('top inclusive time, product (dist/) and npm package frames only', s.ownInclusive),
    ...table('top inclusive time, all frames', s.inclusive),
  ].join('\n')
}

/**
 * Self time per request by area, side by side, sorted by how much more the first target spends
 * than the last (normally the product against node-pipe).
 */
export interface ComparedProfile {
  readonly name: string
  readonly summary: ProfileSummary
  /** Requests (or MiB) over the profiled part. */
  readonly units: number
  /** CPU µs per request (or per MiB) measured from /proc during the workload, when known. */
  readonly cpuUsPerUnit: number | undefined
}

/**
 * Where each target's CPU goes, by area, side by side. The profiler samples wall-clock time on
 * the main thread, so on a machine shared with other work its "busy" time swells with
 * preemption; each area's *share* of the samples is therefore scaled by the CPU time per request
 * read from /proc in the same run, which does not.
 */
export function renderAreaComparison(entries: readonly ComparedProfile[], unit = 'request'): string {
  if (entries.length < 2) return ''
  const first = entries[0] as ComparedProfile
  const last = entries[entries.length - 1] as ComparedProfile
  const scaled = entries.every((e) => e.cpuUsPerUnit !== undefined)
  const total = (e: ComparedProfile) => (scaled ? (e.cpuUsPerUnit ?? 0) : (e.summary.totalMs * 1000) / e.units)
  const perReq = (e: ComparedProfile, area: string) => (e.summary.totalMs > 0 ? ((e.summary.allAreas.get(area) ?? 0) / e.summary.totalMs) * total(e) : 0)
  const areas = [...new Set(entries.flatMap((e) => [...e.summary.allAreas.keys()]))]
    .map((a) => ({ a, diff: perReq(first, a) - perReq(last, a) }))
    .filter((x) => entries.some((e) => perReq(e, x.a) >= 0.5))
    .sort((x, y) => y.diff - x.diff)
  return [
    `## Where the extra CPU goes: CPU µs per ${unit} by area`,
    '',
    scaled
      ? `Each area's share of the profile's busy samples (start-up left out) × the CPU µs per ${unit} read from /proc during the profiled run (profiler overhead included). Native frames count for their JavaScript caller.`
      : `Self time per ${unit} from the profile (start-up left out; wall-clock samples, so inflated when the machine is busy).`,
    '',
    `| area | ${entries.map((e) => e.name).join(' | ')} | ${first.name} − ${last.name} |`,
    `|---|${entries.map(() => '---|').join('')}---|`,
    `| **total** | ${entries.map((e) => `**${total(e).toFixed(1)}**`).join(' | ')} | **${(total(first) - total(last)).toFixed(1)}** |`,
    ...areas.map(({ a, diff }) => `| \`${a}\` | ${entries.map((e) => perReq(e, a).toFixed(1)).join(' | ')} | ${diff >= 0 ? '+' : ''}${diff.toFixed(1)} |`),
    '',
  ].join('\n')
}
