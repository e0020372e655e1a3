// Forwarding contract, part 6: bodies stream both ways. The first chunk of an answer reaches the
// caller while Cloud 66 is still sending; the first chunk of an upload reaches Cloud 66 while the
// caller is still sending; 200 MB each way arrive complete. All proofs are event-driven: a proxy
// that buffered would deadlock the gated exchanges below and fail them by the safety timeout.
import test, { type ExecutionContext } from 'ava'
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import { EventEmitter } from 'node:events'
import { startProxy } from '../helpers/proxy.js'
import { SIM_TOKEN, generatedBody, listenForTest, nextEvent, recorded, startSim, within } from '../helpers/forwarding.js'

const MiB = 1024 * 1024

test('the first chunk of /api/3/slow reaches the caller while the upstream is still sending', async (t) => {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  let upstreamFinished = false
  sim.server.on('request', (_req: IncomingMessage, res: ServerResponse) => res.once('finish', () => (upstreamFinished = true)))

  const { firstChunk, finishedAtFirstChunk, whole } = await within(
    new Promise<{ firstChunk: string; finishedAtFirstChunk: boolean; whole: string }>((resolve, reject) => {
      http
        .get(`${proxy.url}/api/3/slow?chunks=4&interval_ms=700`, { agent: false }, (res) => {
          const chunks: string[] = []
          let finishedAtFirstChunk: boolean | undefined
          res.setEncoding('utf8')
          res.on('data', (c: string) => {
            finishedAtFirstChunk ??= upstreamFinished
            chunks.push(c)
          })
          res.once('end', () => resolve({ firstChunk: chunks[0] ?? '', finishedAtFirstChunk: finishedAtFirstChunk ?? true, whole: chunks.join('') }))
          res.once('error', reject)
        })
        .once('error', reject)
    }),
    'the slow answer',
  )
  t.is(firstChunk, '[{"chunk":0,"of":4}\n')
  t.false(finishedAtFirstChunk, 'the upstream had not finished its answer when the caller got the first chunk')
  t.true(upstreamFinished)
  t.deepEqual(
    JSON.parse(whole),
    [0, 1, 2, 3].map((i) => ({ chunk: i, of: 4 })),
  )
})

test('an answer whose rest the upstream sends only after the caller saw its start completes', async (t) => {
  // The upstream sends one chunk and then waits for the test, which releases it only once that
  // chunk has come out of the proxy. A proxy that waits for the whole answer never gets there.
  const release = new EventEmitter()
  const upstream = await listenForTest(
    t,
    http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.write('first;')
      release.once('go', () => res.end('rest'))
    }),
  )
  const proxy = await startProxy(t, { upstream: `http://127.0.0.1:${upstream.port}`, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  const body = await within(
    new Promise<string>((resolve, reject) => {
      http
        .get(`${proxy.url}/stacks`, { agent: false }, (res) => {
          let text = ''
          res.setEncoding('utf8')
          res.on('data', (c: string) => {
            text += c
            if (text === 'first;') release.emit('go')
          })
          res.once('end', () => resolve(text))
          res.once('error', reject)
        })
        .once('error', reject)
    }),
    'the first chunk to come through the proxy before the upstream finished',
  )
  t.is(body, 'first;rest')
})

test('an upload reaches the upstream while the caller is still sending it', async (t) => {
  // The caller sends the first part of a large upload and holds the rest until the upstream has
  // seen the first part. A proxy that collected the body first would wait forever.
  const { upstream, seen } = await countingUpstream(t)
  // Content-Length larger than the replay buffer: this body must stream.
  const proxy = await startProxy(t, {
    upstream: `http://127.0.0.1:${upstream.port}`,
    env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN },
    flags: { replayBodyLimit: 1024 },
  })
  const part = Buffer.alloc(64 * 1024, 'a')
  const answer = within(
    new Promise<string>((resolve, reject) => {
      const req = http.request(
        `${proxy.url}/upload`,
        { method: 'POST', agent: false, headers: { 'content-length': part.length * 2, 'content-type': 'application/octet-stream' } },
        (res) => {
          let text = ''
          res.on('data', (c: Buffer) => (text += c.toString()))
          res.once('end', () => resolve(text))
        },
      )
      req.once('error', reject)
      req.write(part)
      void nextEvent<[number]>(seen, 'bytes', 'the first part of the upload to reach the upstream', (n) => n >= part.length).then(() => req.end(part), reject)
    }),
    'the upload answer',
  )
  t.is(await answer, String(part.length * 2))
})

test('a chunked upload reaches the upstream while the caller is still sending it', async (t) => {
  const { upstream, seen } = await countingUpstream(t)
  const proxy = await startProxy(t, { upstream: `http://127.0.0.1:${upstream.port}`, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  const answer = within(
    new Promise<string>((resolve, reject) => {
      const req = http.request(`${proxy.url}/upload`, { method: 'PUT', agent: false, headers: { 'transfer-encoding': 'chunked' } }, (res) => {
        let text = ''
        res.on('data', (c: Buffer) => (text += c.toString()))
        res.once('end', () => resolve(text))
      })
      req.once('error', reject)
      req.write('first-chunk')
      void nextEvent<[number]>(seen, 'bytes', 'the first chunk to reach the upstream', (n) => n >= 'first-chunk'.length).then(() => req.end('-last'), reject)
    }),
    'the chunked upload answer',
  )
  t.is(await answer, String('first-chunk-last'.length))
})

test('a 200 MB download arrives complete and intact through the proxy', async (t) => {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  const total = 200 * MiB
  const result = await within(
    new Promise<{ status: number; length: string | undefined; bytes: number; intact: boolean }>((resolve, reject) => {
      http
        .get(`${proxy.url}/api/3/big?mb=200`, { agent: false }, (res) => {
          let bytes = 0
          let intact = true
          res.on('data', (c: Buffer) => {
            // Byte k of the simulator's body is k % 256: check the ends of every chunk, keep nothing.
            if (c[0] !== bytes % 256 || c[c.length - 1] !== (bytes + c.length - 1) % 256) intact = false
            bytes += c.length
          })
          res.once('end', () => resolve({ status: res.statusCode ?? 0, length: res.headers['content-length'], bytes, intact }))
          res.once('error', reject)
        })
        .once('error', reject)
    }),
    'the 200 MB download',
    45_000,
  )
  t.is(result.status, 200)
  t.is(result.length, String(total))
  t.is(result.bytes, total)
  t.true(result.intact)
})

test('a chunked download without Content-Length arrives complete through the proxy', async (t) => {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  const result = await within(
    new Promise<{ te: string | undefined; bytes: number }>((resolve, reject) => {
      http
        .get(`${proxy.url}/api/3/big?mb=8&chunked=1`, { agent: false }, (res) => {
          let bytes = 0
          res.on('data', (c: Buffer) => (bytes += c.length))
          res.once('end', () => resolve({ te: res.headers['transfer-encoding'], bytes }))
          res.once('error', reject)
        })
        .once('error', reject)
    }),
    'the chunked download',
  )
  t.is(result.te, 'chunked')
  t.is(result.bytes, 8 * MiB)
})

test('a 200 MB upload arrives complete at the upstream through the proxy', async (t) => {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  const total = 200 * MiB
  const reply = await within(
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        `${proxy.url}/api/3/upload`,
        { method: 'POST', agent: false, headers: { 'content-type': 'application/octet-stream', 'content-length': total } },
        (res) => {
          let body = ''
          res.on('data', (c: Buffer) => (body += c.toString()))
          res.once('end', () => resolve({ status: res.statusCode ?? 0, body }))
        },
      )
      req.once('error', reject)
      generatedBody(total).pipe(req)
    }),
    'the 200 MB upload',
    45_000,
  )
  t.is(reply.status, 200)
  t.deepEqual(JSON.parse(reply.body), { response: { bytes: total } })
  const [record] = await recorded(sim, 1)
  t.is(record?.bodyBytes, total)
  t.is(record?.headers['content-length'], String(total))
})

/** An upstream that reports every byte of a request body as it arrives ('bytes' on `seen`) and answers with the total. */
async function countingUpstream(t: ExecutionContext) {
  const seen = new EventEmitter()
  let upstreamBytes = 0
  const upstream = await listenForTest(
    t,
    http.createServer((req, res) => {
      req.on('data', (c: Buffer) => {
        upstreamBytes += c.length
        seen.emit('bytes', upstreamBytes)
      })
      req.once('end', () => res.end(String(upstreamBytes)))
    }),
  )
  return { upstream, seen }
}
