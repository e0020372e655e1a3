/** How Rack reads a parameter's name: decoded, and split into its nesting levels. */

/** The decoded name of one `name=value` query part (`+` is a space, as in forms). */
export function paramName(part: string): string {
  const eq = part.indexOf('=')
  const raw = (eq === -1 ? part : part.slice(0, eq)).replace(/\+/g, ' ')
  try {
    return decodeURIComponent(raw).replace(/\[\]$/, '')
  } catch {
    return raw
  }
}

/**
 * The names of a parameter's nesting levels: `include_private_key[]`, `x[include_private_key]`
 * and `[include_private_key]` (Rack 2 strips leading brackets) all hold `include_private_key`.
 */
export function paramTokens(name: string): string[] {
  if (!name.includes('[') && !name.includes(']')) return [name]
  return name.split(/[[\]]+/).filter((t) => t !== '')
}
