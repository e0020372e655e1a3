import { bearerTokenProblem } from './bearer-token.js'

/**
 * The cx toolbelt writes its token file as the Go `oauth.Token` struct with PascalCase fields:
 * `{"AccessToken":"…","RefreshToken":"","Expiry":"0001-01-01T00:00:00Z","Extra":null}`
 * (written by Go's encoding/json, mode 0600). `CLOUD66_TOKEN` is the base64 of exactly that JSON.
 * Errors never include the input: it is a credential.
 */
export function parseCxTokenJson(text: string): string {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new Error('not valid JSON')
  }
  if (typeof parsed !== 'object' || parsed === null) throw new Error('not a JSON object')
  const record = parsed as Record<string, unknown>
  // Older Ruby toolbelt files use lower-case keys ({"token": …}); accept both shapes.
  const token = record['AccessToken'] ?? record['access_token'] ?? record['token']
  if (typeof token !== 'string' || token.trim() === '') throw new Error('has no AccessToken')
  return checkedToken(token.trim())
}

/** A `--token-file` holds a raw token; a cx-style JSON file is accepted too. */
export function parseTokenFile(text: string): string {
  const trimmed = text.trim()
  if (trimmed.startsWith('{')) return parseCxTokenJson(trimmed)
  return checkedToken(trimmed)
}

function checkedToken(token: string): string {
  const problem = bearerTokenProblem(token)
  if (problem !== undefined) throw new Error(problem)
  return token
}
