const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/**
 * Parses `250ms`, `5s`, `2m`, `1h`, `7d` or a bare number of milliseconds.
 * Returns undefined for anything else so the caller can report the setting by name.
 */
export function parseDuration(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isSafeInteger(input) && input >= 0 ? input : undefined
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(input.trim())
  if (!match) return undefined
  const value = Number(match[1]) * (UNITS[match[2] ?? 'ms'] ?? 1)
  return Number.isFinite(value) ? Math.round(value) : undefined
}
