import http from 'node:http'
import net from 'node:net'
import test, { type ExecutionContext } from 'ava'
import { startProxy } from '../helpers/proxy.js'
import { startStrictUpstream, type StrictRecord, type StrictUpstream } from '../helpers/strict-upstream.js'
import { allShapes, shapeBytes, type Shape } from './shapes.js'

/**
 * The differential framing harness (issue 9). Each shape goes to the proxy over its own
 * connection; then an ordinary request arrives from another connection, which the proxy sends
 * on its pooled upstream connection. A strict raw upstream records every request per
 * connection. For every shape, either the caller got a 4xx and the upstream saw nothing of it,
 * or the upstream saw exactly one request with the same method, target and body bytes; and the
 * follow-up always arrives intact. Nothing else passes.
 */

const TOKEN = 'harness-token'

interface Answer {
  readonly status: number
  readonly text: string
}

/** Sends raw bytes and reads one final response (skipping 1xx), or whatever came before the socket closed. */
function exchange(port: number, bytes: Buffer, head: boolean): Promise<Answer> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    let buf = Buffer.alloc(0)
    let done = false
    const finish = (status: number) => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      resolve({ status, text: buf.toString('latin1').slice(0, 400) })
    }
    const timer = setTimeout(() => finish(-1), 5_000)
    const tryParse = () => {
      for (;;) {
        const end = buf.indexOf('\r\n\r\n')
        if (end === -1) return
        const headText = buf.subarray(0, end).toString('latin1')
        const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(headText)?.[1] ?? 0)
        if (status >= 100 && status < 200) {
          buf = buf.subarray(end + 4)
          continue
        }
        const cl = /\r\ncontent-length:\s*(\d+)/i.exec(headText)
        const need = head || status === 204 || status === 304 ? 0 : cl ? Number(cl[1]) : undefined
        if (need !== undefined && buf.length >= end + 4 + need) finish(status)
        return
      }
    }
    socket.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c])
      tryParse()
    })
    socket.on('error', () => undefined)
    socket.on('close', () => finish(Number(/^HTTP\/1\.[01] (\d{3})/.exec(buf.toString('latin1'))?.[1] ?? 0)))
    socket.write(bytes)
  })
}

/** An ordinary GET from a fresh connection. */
function followUp(port: number, n: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: `/follow/${n}.json`, agent: false, headers: { host: `127.0.0.1:${port}` } }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', reject)
    req.end()
  })
}

const headerCount = (r: StrictRecord, name: string) => r.headers.filter(([n]) => n === name).length
const headerValue = (r: StrictRecord, name: string) => r.headers.find(([n]) => n === name)?.[1]

/** What went wrong with one shape, or undefined. */
async function judge(up: StrictUpstream, port: number, s: Shape, n: number): Promise<string | undefined> {
  const before = up.records.length
  const violations = up.violations.length
  const leftovers = up.leftovers.length
  const answer = await exchange(port, shapeBytes(s, port), s.method === 'HEAD')
  const followStatus = await followUp(port, n)
  const seen = up.records.slice(before)
  const problems: string[] = []
  if (up.violations.length > violations) problems.push(`upstream parser refused: ${JSON.stringify(up.violations.slice(violations))}`)
  if (up.leftovers.length > leftovers) problems.push('bytes reached the upstream after a refused request')
  const follow = seen.at(-1)
  const followTarget = `/api/3/follow/${n}.json`
  if (followStatus !== 200) problems.push(`follow-up got ${followStatus}`)
  if (
    !follow ||
    follow.method !== 'GET' ||
    follow.target !== followTarget ||
    follow.body.length !== 0 ||
    headerValue(follow, 'authorization') !== `Bearer ${TOKEN}` ||
    headerCount(follow, 'authorization') !== 1 ||
    headerCount(follow, 'x-swallow') !== 0
  ) {
    problems.push(`follow-up not intact: ${JSON.stringify(follow && { method: follow.method, target: follow.target, headers: follow.headers })}`)
  }
  const forwarded = seen.slice(0, -1)
  if (answer.status >= 400 && answer.status < 500) {
    if (s.expect === 'forward') problems.push(`an honest request was refused with ${answer.status}: ${answer.text}`)
    if (forwarded.length > 0) problems.push(`refused with ${answer.status}, yet the upstream saw ${forwarded.map((r) => `${r.method} ${r.target}`).join(', ')}`)
  } else if (answer.status >= 200 && answer.status < 300) {
    if (s.expect === 'refuse') problems.push(`forwarded (${answer.status}) though its framing is ambiguous`)
    const r = forwarded[0]
    if (forwarded.length !== 1 || !r)
      problems.push(`the upstream saw ${forwarded.length} requests: ${forwarded.map((x) => `${x.method} ${x.target}`).join(', ')}`)
    else {
      if (r.method !== s.method) problems.push(`method ${r.method}`)
      if (r.target !== `/api/3${s.target}`) problems.push(`target ${r.target}`)
      if (!r.body.equals(s.body)) problems.push(`body ${JSON.stringify(r.body.toString('latin1'))} instead of ${JSON.stringify(s.body.toString('latin1'))}`)
      if (headerCount(r, 'authorization') !== 1 || headerValue(r, 'authorization') !== `Bearer ${TOKEN}`) problems.push("authorization not exactly the proxy's")
      if (headerCount(r, 'host') !== 1) problems.push('not exactly one Host')
    }
  } else {
    problems.push(`answered ${answer.status}: ${answer.text}`)
  }
  return problems.length === 0 ? undefined : `${s.name} [expect ${s.expect}, got ${answer.status}]: ${problems.join('; ')}`
}

async function runAll(t: ExecutionContext, flags: Record<string, unknown>) {
  const up = await startStrictUpstream()
  t.teardown(() => up.close())
  const proxy = await startProxy(t, { upstream: up.url, flags: { logLevel: 'warn', ...flags }, env: { CLOUD66_ACCESS_TOKEN: TOKEN } })
  const shapes = allShapes()
  t.true(shapes.length >= 150, `only ${shapes.length} shapes`)
  const failures: string[] = []
  let n = 0
  for (const s of shapes) {
    const problem = await judge(up, proxy.port, s, n++)
    if (problem) failures.push(problem)
  }
  t.deepEqual(failures, [], `${failures.length} of ${shapes.length} shapes failed`)
  t.log(`${shapes.length} shapes, ${up.records.length} upstream requests on ${new Set(up.records.map((r) => r.connection)).size} upstream connections`)
}

test("every request shape is refused or forwarded exactly, and the next caller's request arrives intact", async (t) => {
  await runAll(t, {})
})

test('the same holds when a parameter rule makes the proxy read bodies before forwarding them', async (t) => {
  await runAll(t, { denyPaths: ['?secret_param'] })
})
