import type { Rate } from './types.js'

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3_600, d: 86_400 }

/** `2700/h` → 2,700 points per 3,600 s; undefined when the text is not COUNT/UNIT. */
export function parseRate(text: string): Rate | undefined {
  const m = /^(\d+)\s*\/\s*(s|m|h|d)$/.exec(text.trim())
  if (!m) return undefined
  const points = Number(m[1])
  if (!Number.isSafeInteger(points) || points < 1) return undefined
  return { points, durationSeconds: UNIT_SECONDS[m[2] ?? 'h'] ?? 3_600, text: text.trim() }
}
