import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import { refuse } from '../refusals.js'
import { readBody, readBodyUpTo, type BodyPace } from './read-body.js'
import { bodyKind, bodyParamNames, mediaTypeOf } from './body-params.js'
import { paramName } from '../rules/param-names.js'

/** How a request's body goes upstream. */
export interface PlannedBody {
  /** The whole body, when it was read here; undefined streams `req` (or there is none). */
  readonly body: Buffer | undefined
  /** True when the body is buffered or absent, so the request can be sent a second time. */
  readonly replayable: boolean
  /** The parameter names the body sets, when it was read to check them. */
  readonly names: readonly string[] | undefined
}

const NO_BODY: PlannedBody = { body: undefined, replayable: true, names: undefined }

export interface BodyLimits {
  /** Bodies up to this size are buffered so that the request can be replayed after a 401. */
  readonly replayBytes: number
  /** Bodies read to check their parameters may be at most this big (413 otherwise). */
  readonly inspectBytes: number
  readonly pace: BodyPace
}

/**
 * Reads or plans the body. It is read and its parameter names listed when a `?param` rule binds
 * the caller (Rails takes parameters from bodies, of every method), and for a POST Rack would
 * parse as a form, because Rack::MethodOverride turns such a POST with `_method=DELETE` into a
 * DELETE. A body that cannot be checked then is refused: 415 for a type Rails does not parse or
 * a Content-Encoding, 413 past `inspectBytes`, 400 for JSON that does not parse. Otherwise a body
 * with a known length up to `replayBytes` is buffered for a replay after a 401, and anything
 * larger, or chunked, streams.
 */
export async function planBody(req: IncomingMessage, method: string, paramRules: boolean, limits: BodyLimits): Promise<PlannedBody> {
  const headers = req.headers
  const te = headers['transfer-encoding']
  const cl = headers['content-length']
  if (te === undefined && (cl === undefined || Number(cl) === 0)) return NO_BODY
  const kind = bodyKind(mediaTypeOf(headers['content-type']))
  if (paramRules || (method === 'POST' && (kind === 'form' || kind === 'multipart'))) {
    if (kind === 'other') {
      throw refuse.uncheckableType()
    }
    const encoding = headers['content-encoding']
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
      throw refuse.encodedBody()
    }
    const body = await readBodyUpTo(req, limits.inspectBytes, limits.pace)
    const names = bodyParamNames(kind, body)
    if (names === undefined) throw refuse.invalidJson()
    return { body, replayable: true, names }
  }
  if (te !== undefined) return { body: undefined, replayable: false, names: undefined }
  const length = Number(cl)
  if (length > limits.replayBytes) return { body: undefined, replayable: false, names: undefined }
  return { body: await readBody(req, length, limits.pace), replayable: true, names: undefined }
}

/** The decoded names of a query string's parameters (`&` and Rack 2's `;` both separate). */
export function queryParamNames(query: string | undefined): string[] {
  if (query === undefined || query === '') return []
  return query
    .split(/[&;]/)
    .filter((p) => p !== '')
    .map(paramName)
}

const OVERRIDE_HEADERS = ['x-http-method-override', 'x-http-method', 'x-method-override'] as const

/**
 * Rack::MethodOverride runs a POST that carries `_method` in its form body, or an
 * X-HTTP-Method-Override header, as that method. The proxy refuses overrides outright instead of
 * judging them as the method they name: no API client needs one, and a refusal cannot disagree
 * with Rails. Underscore spellings of the headers are dropped by stripRequestHeaders.
 */
export function overrideHeader(headers: IncomingHttpHeaders): boolean {
  return OVERRIDE_HEADERS.some((name) => headers[name] !== undefined)
}

export const overridesMethod = (names: readonly string[]): boolean => names.some((n) => n === '_method' || n.startsWith('_method['))
