// The node:http server: record the request, find its route, run it, and make sure no handler
// failure or client abort can escape as an unhandled error.
import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerOptions, ServerResponse } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import { presentedToken } from './auth.js'
import { startRecording } from './recorder.js'
import { ApiError, railsHeaders, sendFailure } from './respond.js'
import type { RequestContext, Router } from './router.js'
import type { SimulatorState } from './state.js'

/** A plain http server, or with `tls` an https one (Cloud 66 itself is only reached over https). */
export function createSimulatorServer(state: SimulatorState, router: Router, tls?: { cert: string | Buffer; key: string | Buffer }): Server {
  const options: ServerOptions = {
    // Rails behind nginx keeps idle connections 65 s. Node's default of 5 s would make a pooled
    // upstream socket race the server's close and fail proxy tests at random.
    keepAliveTimeout: 65_000,
    // Node cuts a request body still arriving after 5 minutes; a benchmark upload through the
    // proxy may take longer, and /hang must outlive any client timeout under test.
    requestTimeout: 0,
    // Small chunks (the slow endpoint) must leave at once, not wait for Nagle.
    noDelay: true,
  }
  const handler = (req: IncomingMessage, res: ServerResponse) => handleRequest(state, router, req, res)
  return tls ? createTlsServer({ ...options, cert: tls.cert, key: tls.key }, handler) : createServer(options, handler)
}

function handleRequest(state: SimulatorState, router: Router, req: IncomingMessage, res: ServerResponse): void {
  let url: URL | undefined
  try {
    url = new URL(req.url ?? '/', state.origin || 'http://127.0.0.1')
  } catch {
    url = undefined
  }
  const token = presentedToken(req.headers, url?.searchParams ?? new URLSearchParams())
  const { record, body } = startRecording(req, token, state)
  if (url === undefined) {
    sendFailure(res, new ApiError(400, 'bad_request', 'Malformed request target'), railsHeaders())
    return
  }

  let match
  try {
    match = router.match(req.method ?? 'GET', url.pathname)
  } catch {
    sendFailure(res, new ApiError(400, 'bad_request', 'Malformed percent-encoding in the path'), railsHeaders())
    return
  }
  if (match === undefined) {
    // Rails answers an unknown route before any controller runs, hence no token check.
    sendFailure(res, new ApiError(404, 'not_found', `No route matches [${record.method}] "${url.pathname}"`), railsHeaders())
    return
  }

  const ctx: RequestContext = { req, res, url, params: match.params, record, body, sim: state }
  try {
    const pending = match.handler(ctx)
    if (pending instanceof Promise) pending.catch((err: unknown) => sendFailure(res, err, railsHeaders()))
  } catch (err) {
    sendFailure(res, err, railsHeaders())
  }
}
