import http from 'node:http'
import https from 'node:https'
import { parse as parseLegacyUrl } from 'node:url'
import httpProxy from 'http-proxy'
import type { Config } from '../../config/types.js'

/** The keep-alive pool to Cloud 66 and the http-proxy server that sends requests through it. */
export function upstreamProxy(config: Config): { agent: http.Agent; proxy: httpProxy } {
  const agentOptions = { keepAlive: true, maxSockets: config.upstreamMaxSockets, scheduling: 'lifo' as const }
  const agent = config.upstream.protocol === 'https:' ? new https.Agent(agentOptions) : new http.Agent(agentOptions)
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
  return { agent, proxy }
}
