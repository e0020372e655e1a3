/**
 * Cloud 66's docs say the token endpoint answers `access_token=…&token_type=bearer` unless asked
 * for JSON (text copied from GitHub's docs; Doorkeeper answers JSON). Real clients pick the parser
 * by Content-Type (Go's goauth2 and Ruby's oauth2 gem both do), so we do too: a form-encoded answer is turned into the
 * JSON oauth4webapi expects, with numeric fields made numbers.
 */
const NUMERIC = new Set(['expires_in', 'created_at'])

export async function normaliseTokenResponse(res: Response): Promise<Response> {
  const type = res.headers.get('content-type') ?? ''
  const isForm = /^application\/x-www-form-urlencoded\b/i.test(type) || (/^text\/plain\b/i.test(type) && res.status < 500)
  if (!isForm) return res
  const text = await res.text()
  const params = new URLSearchParams(text)
  if (!params.has('access_token') && !params.has('error')) {
    // Not a token answer after all: hand back the original bytes for the normal error path.
    return new Response(text, { status: res.status, statusText: res.statusText, headers: res.headers })
  }
  const body: Record<string, string | number> = {}
  for (const [key, value] of params) body[key] = NUMERIC.has(key) && /^\d+$/.test(value) ? Number(value) : value
  const headers = new Headers(res.headers)
  headers.set('content-type', 'application/json')
  headers.delete('content-length')
  return new Response(JSON.stringify(body), { status: res.status, statusText: res.statusText, headers })
}
