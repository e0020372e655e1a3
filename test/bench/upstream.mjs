// Benchmark upstream: a static, fast node:http server standing in for the Cloud 66 API.
//
//   GET  /api/3/stacks.json  fixed ~2 KB JSON
//   GET  /api/3/big?mb=N     N MiB in 64 KiB chunks, respecting backpressure
//   POST /api/3/echo         the request body piped straight back (full duplex)
//   GET  /__bench/stats      counters (not counted themselves); POST /__bench/reset zeroes them
//
// Every API request is checked for `Authorization: Bearer <BENCH_TOKEN>`; the counters say how
// many carried it, so the report can show "upstream saw auth=yes/no" per target.
//
// Usage: node test/bench/upstream.mjs --port N [--token bench-token]
import http from 'node:http'
import process from 'node:process'
import { URL } from 'node:url'
import { Buffer } from 'node:buffer'
import { setInterval } from 'node:timers'

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name)
  return i === -1 ? fallback : process.argv[i + 1]
}
const port = Number(arg('--port', '18081'))
const expectedAuth = `Bearer ${arg('--token', 'bench-token')}`

const MIB = 1024 * 1024
const CHUNK = Buffer.alloc(64 * 1024)
for (let i = 0; i < CHUNK.length; i++) CHUNK[i] = (i * 31 + 7) & 0xff

// About 2 KB of stack-like JSON, built once.
const stacks = {
  response: Array.from({ length: 5 }, (_, i) => ({
    uid: `5999b763474b0eafa5fafb64bff0ba${String(i).padStart(2, '0')}`,
    name: `bench-stack-${i}`,
    environment: 'production',
    git: 'git@github.com:example/app.git',
    git_branch: 'main',
    cloud: 'aws',
    fqdn: `bench-${i}.c66.me`,
    status: 1,
    health: 3,
    last_activity: '2026-11-28T16:00:00Z',
    created_at: '2026-01-01T00:00:00Z',
    updated_at: '2026-11-28T16:00:00Z',
    deploy_directory: '/var/deploy/app/web_head/current',
    server_count: 2,
  })),
  count: 5,
  pagination: { previous: null, next: null, current: 1, per_page: 30, count: 5, pages: 1 },
}
const STACKS_BODY = Buffer.from(JSON.stringify(stacks))
const STACKS_HEADERS = { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(STACKS_BODY.length) }

const stats = { requests: 0, auth_ok: 0, auth_missing: 0, auth_wrong: 0, x_forwarded_for: 0, by_route: {} }
const reset = () => {
  stats.requests = stats.auth_ok = stats.auth_missing = stats.auth_wrong = stats.x_forwarded_for = 0
  stats.by_route = {}
}

function count(req, route) {
  stats.requests += 1
  stats.by_route[route] = (stats.by_route[route] ?? 0) + 1
  const auth = req.headers.authorization
  if (auth === undefined) stats.auth_missing += 1
  else if (auth === expectedAuth) stats.auth_ok += 1
  else stats.auth_wrong += 1
  if (req.headers['x-forwarded-for'] !== undefined) stats.x_forwarded_for += 1
}

function big(req, res, url) {
  const mb = Math.max(0, Math.min(4096, Number(url.searchParams.get('mb') ?? '1') || 0))
  let left = mb * MIB
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(left) })
  let stopped = false
  res.once('close', () => (stopped = true))
  const pump = () => {
    while (!stopped && left > 0) {
      const piece = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left)
      left -= piece.length
      if (left === 0) {
        res.end(piece)
        return
      }
      if (!res.write(piece)) {
        res.once('drain', pump)
        return
      }
    }
    if (!stopped && left === 0) res.end()
  }
  pump()
}

function echo(req, res) {
  const headers = { 'Content-Type': req.headers['content-type'] ?? 'application/octet-stream' }
  if (req.headers['content-length'] !== undefined) headers['Content-Length'] = req.headers['content-length']
  // Answer at once and stream the body back while it is still arriving (full duplex).
  res.writeHead(200, headers)
  req.pipe(res)
  req.once('error', () => res.destroy())
}

const server = http.createServer({ keepAliveTimeout: 30_000, headersTimeout: 60_000, requestTimeout: 0 }, (req, res) => {
  const path = req.url ?? '/'
  if (path === '/api/3/stacks.json' && req.method === 'GET') {
    count(req, 'stacks')
    res.writeHead(200, STACKS_HEADERS)
    res.end(STACKS_BODY)
    return
  }
  if (path.startsWith('/api/3/big') && req.method === 'GET') {
    count(req, 'big')
    big(req, res, new URL(path, 'http://upstream'))
    return
  }
  if (path === '/api/3/echo' && req.method === 'POST') {
    count(req, 'echo')
    echo(req, res)
    return
  }
  if (path === '/__bench/stats') {
    req.resume()
    const body = JSON.stringify(stats)
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) })
    res.end(body)
    return
  }
  if (path === '/__bench/reset' && req.method === 'POST') {
    req.resume()
    reset()
    res.writeHead(204)
    res.end()
    return
  }
  count(req, 'other')
  req.resume()
  res.writeHead(404, { 'Content-Type': 'application/json', 'Content-Length': '21' })
  res.end('{"error":"not_found"}')
})

server.listen(port, '127.0.0.1', () => process.stdout.write(`upstream listening on 127.0.0.1:${port}\n`))

// Never outlive the harness, even if it was killed without a chance to clean up.
const parent = process.ppid
setInterval(() => {
  if (process.ppid !== parent) process.exit(0)
}, 1000).unref()
process.once('SIGTERM', () => process.exit(0))
process.once('SIGINT', () => process.exit(0))
