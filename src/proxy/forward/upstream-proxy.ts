import http from 'node:http'
import https from 'node:https'
import type { Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { parse as parseLegacyUrl } from 'node:url'
import httpProxy from 'http-proxy'
import type { Config } from '../../config/types.js'
import { closeIdleConnections } from './idle-pool.js'

/** How a new connection to Cloud 66 began: a full TLS handshake, a resumed TLS session, or plain http. */
export type TlsSession = 'new' | 'resumed' | 'none'

/** The keep-alive pool to Cloud 66 and the http-proxy server that sends requests through it. */
export function upstreamProxy(
  config: Config,
  onOpened: (session: TlsSession) => void = () => {},
): { agent: http.Agent; proxy: httpProxy; stopIdleSweep: () => void } {
  const agentOptions = {
    keepAlive: true,
    maxSockets: config.upstreamMaxSockets,
    scheduling: 'lifo' as const,
    // https.Agent caches TLS sessions (100 by default), so the connection opened after an idle
    // close resumes the session: no certificate is sent or verified (with TLS 1.2, one round
    // trip less too).
  }
  const tls = config.upstream.protocol === 'https:'
  const agent = tls ? new https.Agent(agentOptions) : new http.Agent(agentOptions)
  reportOpenedConnections(agent, tls, onOpened)
  // An idle pooled socket is closed by us before the server closes it. Otherwise a request after
  // a pause can be written into a socket whose FIN is still on its way here, and fails
  // (ECONNRESET, a 502) instead of paying for a new connection. The default, 55 s, stays under
  // 60 s, the idle timeout of AWS load balancers and the shortest of the usual fronts (nginx:
  // 75 s), with 5 s to spare for the round trip and timer slack; a shorter `Keep-Alive: timeout=N`
  // announced by the server wins, one second early.
  const idle = closeIdleConnections(agent, config.upstreamKeepAliveTimeoutMs)
  const proxy = httpProxy.createProxyServer({
    // Parsed once here: http-proxy re-parses a string target on every request.
    target: parseLegacyUrl(config.upstream.origin) as unknown as httpProxy.ServerOptions['target'],
    agent,
    changeOrigin: true,
    secure: true,
    xfwd: false,
    selfHandleResponse: true,
    // req.url is set to the exact upstream path; toProxy stops http-proxy from url.parse()-ing
    // (and so re-encoding) it, prependPath keeps the target's "/" from being joined in front.
    toProxy: true,
    prependPath: false,
  })
  // Keep only the 'stream' pass: 'deleteLength' would turn a chunked DELETE body into nothing,
  // and 'timeout'/'XHeaders' are unused. Fewer passes is also less work per request.
  const server = proxy as unknown as { webPasses: Array<{ name: string }> }
  server.webPasses = server.webPasses.filter((pass) => pass.name === 'stream')
  return { agent, proxy, stopIdleSweep: idle.stop }
}

/**
 * Calls `onOpened` once for every connection the pool opens, when it is ready to carry a request
 * (TCP connected; for https, handshake done), so the reuse of pooled connections and of TLS
 * sessions can be seen. A connection that never gets there is an upstream error, not counted here.
 */
function reportOpenedConnections(agent: http.Agent, tls: boolean, onOpened: (session: TlsSession) => void): void {
  const create = agent.createConnection.bind(agent)
  agent.createConnection = (...args: Parameters<typeof create>) => {
    const socket = create(...args) as Socket | null | undefined
    if (tls) socket?.once('secureConnect', () => onOpened((socket as TLSSocket).isSessionReused() ? 'resumed' : 'new'))
    else socket?.once('connect', () => onOpened('none'))
    return socket
  }
}
