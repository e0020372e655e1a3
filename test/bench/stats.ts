// Small statistics and number formatting for the report.

export const defined = <T>(xs: ReadonlyArray<T | undefined>): T[] => xs.filter((x): x is T => x !== undefined)

export function median(xs: readonly number[]): number | undefined {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b)
  if (s.length === 0) return undefined
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid] : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2
}

export interface Summary {
  readonly median: number
  readonly min: number
  readonly max: number
  readonly n: number
  /** Half the range as a percentage of the median: the "±" of the tables. */
  readonly spreadPct: number
  readonly values: readonly number[]
}

export function summarize(values: ReadonlyArray<number | undefined>): Summary | undefined {
  const xs = defined(values).filter(Number.isFinite)
  const m = median(xs)
  if (m === undefined) return undefined
  const min = Math.min(...xs)
  const max = Math.max(...xs)
  return { median: m, min, max, n: xs.length, spreadPct: m === 0 ? 0 : ((max - min) / 2 / Math.abs(m)) * 100, values: xs }
}

/** 12,345 / 1.23 / 0.0123: a sensible number of digits for a table cell. */
export function fmt(x: number | undefined, digits?: number): string {
  if (x === undefined || !Number.isFinite(x)) return '-'
  if (digits !== undefined) return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
  const a = Math.abs(x)
  const d = a >= 1000 ? 0 : a >= 100 ? 0 : a >= 10 ? 1 : 2
  return x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d })
}

const fmtPct = (p: number) => (p >= 10 ? p.toFixed(0) : p.toFixed(1))

/** "median ±spread%" (spread only when there is more than one value). */
export function fmtSummary(s: Summary | undefined, digits?: number): string {
  if (!s) return '-'
  return s.n > 1 ? `${fmt(s.median, digits)} ±${fmtPct(s.spreadPct)}%` : fmt(s.median, digits)
}

/** "median (min–max)", for per-rep ratios. */
export function fmtRange(s: Summary | undefined, digits = 2): string {
  if (!s) return '-'
  return s.n > 1 ? `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})` : s.median.toFixed(digits)
}
