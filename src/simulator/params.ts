// Rails-style request parameters: the query string merged with a JSON or form-encoded body.
// Real clients send both kinds (cx sends JSON, curl examples and hubot send forms), and cx builds
// from before March 2021 send GET requests with a JSON body (`page`, `include_servers`): a GET body
// is used when it parses and ignored when it does not, never an error.
import type { ReceivedBody } from './recorder.js'
import { ApiError, badRequest } from './respond.js'

export type Params = Readonly<Record<string, unknown>>

const BODYLESS_METHODS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS'])

export function parseParams(method: string, contentType: string | undefined, query: URLSearchParams, body: ReceivedBody): Params {
  const params = queryParams(query)
  if (body.bytes === 0) return params
  const lenient = BODYLESS_METHODS.has(method)
  if (body.truncated) {
    if (lenient) return params
    throw new ApiError(413, 'request_too_large', 'Request bodies over 1 MiB are not accepted here')
  }
  try {
    return Object.assign(params, parseBody(contentType, body.head))
  } catch (err) {
    if (lenient) return params
    throw err
  }
}

/** The query string alone, for handlers that leave the body to themselves. */
export function queryParams(query: URLSearchParams): Record<string, unknown> {
  // Null prototype: a body key "__proto__" stays a plain key instead of replacing the prototype.
  const params = Object.create(null) as Record<string, unknown>
  for (const [name, value] of query) params[name] = value
  return params
}

function parseBody(contentType: string | undefined, raw: Buffer): Record<string, unknown> {
  const type = (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase()
  const text = raw.toString('utf8')
  // Without a Content-Type, guess as Rails' params parser effectively does for cx and curl bodies.
  if (type === 'application/json' || type.endsWith('+json') || (type === '' && text.trimStart().startsWith('{'))) {
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      throw badRequest('The request body is not valid JSON')
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw badRequest('The JSON request body must be an object')
    }
    return parsed as Record<string, unknown>
  }
  if (type === 'application/x-www-form-urlencoded' || type === '') {
    return Object.fromEntries(new URLSearchParams(text))
  }
  return {} // multipart and other types carry nothing this simulator reads
}

/** A scalar parameter as a string; absent, empty and non-scalar values give undefined. */
export function stringParam(params: Params, name: string): string | undefined {
  const value = params[name]
  if (typeof value === 'string') return value === '' ? undefined : value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return undefined
}

/** Rails' truthy spellings of a boolean flag: true, 1, "true", "1". */
export function flagParam(params: Params, name: string): boolean {
  const value = params[name]
  return value === true || value === 1 || value === 'true' || value === '1'
}

/** The 1-based `page` parameter; anything that is not a positive integer means page 1. */
export function pageParam(params: Params): number {
  const page = Number(stringParam(params, 'page'))
  return Number.isInteger(page) && page >= 1 ? page : 1
}
