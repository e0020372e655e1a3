// Request parameters of the OAuth endpoints, read as Rails reads them.
import type { Params } from './params.js'
import { parseParams, queryParams, stringParam } from './params.js'
import { sendFailure } from './respond.js'
import type { RequestContext } from './router.js'

export interface OAuthParams {
  /** The form or JSON body alone (Rack::MethodOverride reads `_method` only there). */
  readonly body: Params
  /** Rails' `params`: the query merged with the body, the body winning. */
  readonly all: Params
}

/**
 * Waits for the body and parses it as Rails would. Resolves undefined when there is nobody to
 * answer (the client went away) or the body was refused with a 400/413 already.
 */
export async function readParams(ctx: RequestContext): Promise<OAuthParams | undefined> {
  const received = await ctx.body
  if (!received.complete) return undefined
  let body: Params
  try {
    body = parseParams(ctx.req.method ?? 'POST', ctx.req.headers['content-type'], new URLSearchParams(), received)
  } catch (err) {
    sendFailure(ctx.res, err, {})
    return undefined
  }
  return { body, all: Object.assign(queryParams(ctx.url.searchParams), body) }
}

/**
 * Scopes.from_string checked as ScopeChecker.valid? does: whitespace-separated (a comma is part
 * of a scope name, so "public,redeploy" is one unknown scope), no tab or newline, each one of
 * `allowed`. Duplicates collapse. Undefined when invalid.
 */
export function scopeList(text: string, allowed: readonly string[]): string[] | undefined {
  if (/[\r\n\t]/.test(text)) return undefined
  const scopes = [...new Set(text.split(' ').filter((s) => s !== ''))]
  return scopes.length > 0 && scopes.every((s) => allowed.includes(s)) ? scopes : undefined
}

export interface ClientCredentials {
  readonly clientId: string
  readonly secret: string | undefined
}

/**
 * Doorkeeper's Credentials.from_request: HTTP Basic first (decoded as is, not form-decoded, as
 * Doorkeeper 5.5 does), then `client_id`/`client_secret` in the params. Undefined when neither
 * names a client.
 */
export function clientCredentials(authorization: string | undefined, params: Params): ClientCredentials | undefined {
  const basic = /^Basic (.*)$/s.exec(authorization ?? '')
  if (basic !== null) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    const clientId = colon === -1 ? decoded : decoded.slice(0, colon)
    if (clientId !== '') return { clientId, secret: colon === -1 ? undefined : decoded.slice(colon + 1) }
  }
  const clientId = stringParam(params, 'client_id')
  return clientId === undefined ? undefined : { clientId, secret: stringParam(params, 'client_secret') }
}
