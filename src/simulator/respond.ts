// Writing JSON answers the way the Cloud 66 Rails app does: the `{error, error_description}` body
// for failures (the fields cx and the Ruby toolbelt read) and the headers Rails adds to every answer.
import { randomUUID } from 'node:crypto'
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'

export const JSON_TYPE = 'application/json; charset=utf-8'

/** A failure that becomes `{"error": code, "error_description": description}` with `status`. */
export class ApiError extends Error {
  readonly status: number
  readonly code: string

  constructor(status: number, code: string, description: string) {
    super(description)
    this.name = 'ApiError'
    this.status = status
    this.code = code
  }
}

export function notFound(what: string): ApiError {
  return new ApiError(404, 'not_found', `${what} not found`)
}

export function badRequest(description: string): ApiError {
  return new ApiError(400, 'bad_request', description)
}

/**
 * Headers Rails puts on every answer but Doorkeeper's 401/403. The session cookie is the one the
 * proxy must not pass on to its callers.
 */
export function railsHeaders(): OutgoingHttpHeaders {
  return {
    'set-cookie': `_cloud66_session=${randomUUID().replaceAll('-', '')}; path=/; HttpOnly`,
    'cache-control': 'max-age=0, private, must-revalidate',
    'x-request-id': randomUUID(),
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: OutgoingHttpHeaders): void {
  if (res.headersSent || res.destroyed) return
  const payload = JSON.stringify(body)
  res.writeHead(status, { ...headers, 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(payload) })
  res.end(payload)
}

/**
 * Turns a handler failure into an answer: an ApiError as its JSON body, anything else as a 500.
 * Once the head has gone out nothing can be said any more, so the connection is cut instead,
 * which the client sees as a truncated body rather than a silent success.
 */
export function sendFailure(res: ServerResponse, err: unknown, headers: OutgoingHttpHeaders): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  if (err instanceof ApiError) {
    sendJson(res, err.status, { error: err.code, error_description: err.message }, headers)
  } else {
    const description = err instanceof Error ? err.message : String(err)
    sendJson(res, 500, { error: 'internal_server_error', error_description: description }, headers)
  }
}
