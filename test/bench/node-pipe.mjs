// The Node ceiling: a minimal plain-Node pipe proxy. http.createServer + http.request with a
// keep-alive agent, an injected `Authorization: Bearer` header, bodies piped both ways, and
// nothing else (no logging, no guards, no metrics).
//
// Usage: CLOUD66_ACCESS_TOKEN=… node test/bench/node-pipe.mjs --port N --upstream http://127.0.0.1:M
import http from 'node:http'
import process from 'node:process'
import { URL } from 'node:url'
import { setInterval } from 'node:timers'

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name)
  return i === -1 ? fallback : process.argv[i + 1]
}
const port = Number(arg('--port', '18082'))
const upstream = new URL(arg('--upstream', 'http://127.0.0.1:18081'))
const authorization = `Bearer ${process.env.CLOUD66_ACCESS_TOKEN ?? ''}`
const agent = new http.Agent({ keepAlive: true })

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']

const server = http.createServer((req, res) => {
  const headers = { ...req.headers }
  for (const h of HOP_BY_HOP) delete headers[h]
  headers.host = upstream.host
  headers.authorization = authorization
  const proxyReq = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent }, (proxyRes) => {
    const out = { ...proxyRes.headers }
    for (const h of HOP_BY_HOP) delete out[h]
    res.writeHead(proxyRes.statusCode ?? 502, out)
    proxyRes.pipe(res)
  })
  proxyReq.on('error', () => {
    if (!res.headersSent) {
      res.writeHead(502, { 'Content-Type': 'text/plain' })
      res.end('bad gateway\n')
    } else res.destroy()
  })
  res.once('close', () => {
    if (!res.writableFinished) proxyReq.destroy()
  })
  req.pipe(proxyReq)
})

server.listen(port, '127.0.0.1')

const parent = process.ppid
setInterval(() => {
  if (process.ppid !== parent) process.exit(0)
}, 1000).unref()
process.once('SIGTERM', () => process.exit(0))
process.once('SIGINT', () => process.exit(0))
