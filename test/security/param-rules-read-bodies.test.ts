import test, { type ExecutionContext } from 'ava'
import { SIM_TOKEN, send, startSim, type Reply } from '../helpers/forwarding.js'
import { createKey, errorCode, gwRequest, loginMember, startGateway, startGatewaySim } from '../helpers/gateway.js'
import { startProxy } from '../helpers/proxy.js'

// Issue 9, finding 2: `?param` rules read only the query string, while Rails merges form,
// multipart and JSON body parameters into `params`, for GET too. A read-only key sent
// include_private_key=true as a GET form body and got the server's SSH key back. Rules now see
// body parameter names as well; a body they cannot check is refused, never forwarded unread.

const RULE = '?include_private_key'

interface BodyShape {
  readonly name: string
  readonly contentType: string | undefined
  /** The body with `P` standing for the parameter name. */
  readonly template: string
}

const BOUNDARY = 'XyZ'
const part = (disposition: string) => `--${BOUNDARY}\r\nContent-Disposition: ${disposition}\r\n\r\ntrue\r\n--${BOUNDARY}--\r\n`

/** Ways a body can carry a parameter named P, for each kind of body Rails parses. */
const SHAPES: readonly BodyShape[] = [
  { name: 'form', contentType: 'application/x-www-form-urlencoded', template: 'P=true' },
  { name: 'form without a Content-Type', contentType: undefined, template: 'a=1&P=true' },
  { name: 'form with a charset', contentType: 'application/x-www-form-urlencoded; charset=UTF-8', template: 'P=1' },
  { name: 'form in upper case', contentType: 'Application/X-WWW-Form-Urlencoded', template: 'P=1' },
  { name: 'form then another type', contentType: 'application/x-www-form-urlencoded, text/plain', template: 'P=1' },
  { name: 'form with ; separators', contentType: 'application/x-www-form-urlencoded', template: 'a=1;P=1' },
  { name: 'form with an array name', contentType: 'application/x-www-form-urlencoded', template: 'P[]=1' },
  { name: 'form with a hash name', contentType: 'application/x-www-form-urlencoded', template: 'P[x]=1' },
  { name: 'form with a leading bracket', contentType: 'application/x-www-form-urlencoded', template: '[P]=1' },
  { name: 'form nested under another', contentType: 'application/x-www-form-urlencoded', template: 'server[P]=1' },
  { name: 'form with a bare name', contentType: 'application/x-www-form-urlencoded', template: 'P' },
  { name: 'multipart, quoted name', contentType: `multipart/form-data; boundary=${BOUNDARY}`, template: part('form-data; name="P"') },
  { name: 'multipart, bare name', contentType: `multipart/form-data; boundary=${BOUNDARY}`, template: part('form-data; name=P') },
  { name: 'multipart, no space, upper case', contentType: `multipart/form-data; boundary=${BOUNDARY}`, template: part('form-data;NAME="P"') },
  { name: 'multipart, RFC 2231 name', contentType: `multipart/form-data; boundary=${BOUNDARY}`, template: part("form-data; name*=UTF-8''P") },
  { name: 'multipart, a filename only', contentType: `multipart/form-data; boundary=${BOUNDARY}`, template: part('form-data; filename="P"') },
  { name: 'multipart, quoted boundary', contentType: `multipart/form-data; boundary="${BOUNDARY}"`, template: part('form-data; name="P"') },
  { name: 'multipart/mixed', contentType: `multipart/mixed; boundary=${BOUNDARY}`, template: part('form-data; name="P"') },
  { name: 'multipart with a wrong boundary', contentType: 'multipart/form-data; boundary=other', template: part('form-data; name="P"') },
  { name: 'JSON', contentType: 'application/json', template: '{"P":true}' },
  { name: 'JSON nested', contentType: 'application/json', template: '{"server":{"P":true}}' },
  { name: 'JSON in an array', contentType: 'application/json', template: '[{"a":1},{"P":1}]' },
  { name: 'JSON with a charset', contentType: 'application/json; charset=utf-8', template: '{"P":1}' },
  { name: 'JSON, text/x-json', contentType: 'text/x-json', template: '{"P":1}' },
  { name: 'JSON, a +json type', contentType: 'application/vnd.api+json', template: '{"P":1}' },
  { name: 'JSON then another type', contentType: 'application/json, text/plain', template: '{"P":1}' },
  { name: 'JSON with a byte order mark', contentType: 'application/json', template: '\uFEFF{"P":1}' },
]

/** Spellings of the rule's parameter, per kind of body (forms decode percent-escapes, JSON unicode escapes). */
const SPELLINGS: Readonly<Record<'form' | 'multipart' | 'json', readonly string[]>> = {
  form: ['include_private_key', 'include%5Fprivate%5Fkey', '%69nclude_private_key', 'include_private_key%5B%5D', 'include%5fprivate_key'],
  multipart: ['include_private_key'],
  json: ['include_private_key', 'include\\u005fprivate_key'],
}

const kindOf = (s: BodyShape) => (s.name.startsWith('multipart') ? 'multipart' : s.name.startsWith('JSON') ? 'json' : 'form')

async function proxyWithRule(t: ExecutionContext, flags: Record<string, unknown> = {}) {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, flags: { denyPaths: [RULE], logLevel: 'warn', ...flags }, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  return { sim, proxy }
}

const jsonError = (reply: Reply): unknown => (JSON.parse(reply.body.toString()) as { error: unknown }).error

test("finding 2, gateway: a read-only key's GET with include_private_key in a form body is refused and no private key comes back", async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url, flags: { scopes: 'public admin' } })
  const { cookie } = await loginMember(t, gw, sim, 1)
  const { key } = await createKey(gw, cookie, { label: 'reader', read_only: true })
  const stacks = (await gwRequest(gw, '/stacks.json', { bearer: key })).json<{ response: Array<{ uid: string }> }>().response
  const stack = stacks[0]?.uid ?? ''
  const servers = (await gwRequest(gw, `/stacks/${stack}/servers.json`, { bearer: key })).json<{ response: Array<{ uid: string }> }>().response
  const server = servers[0]?.uid ?? ''
  const before = sim.requests.length
  const res = await gwRequest(gw, `/stacks/${stack}/servers/${server}.json`, {
    bearer: key,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'include_private_key=true',
  })
  t.is(res.status, 403, res.body)
  t.is(errorCode(res), 'denied_by_policy')
  t.false(res.body.includes('PRIVATE KEY'))
  t.is(sim.requests.length, before, 'nothing reached Cloud 66')
  // Without the parameter the same request goes through, and carries no key.
  const plain = await gwRequest(gw, `/stacks/${stack}/servers/${server}.json`, {
    bearer: key,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'page=1',
  })
  t.is(plain.status, 200)
})

test('a ?param rule refuses the parameter in every kind of body and spelling, on every method, and Cloud 66 sees none of them', async (t) => {
  const { sim, proxy } = await proxyWithRule(t)
  let tried = 0
  for (const method of ['GET', 'POST', 'PUT', 'DELETE']) {
    for (const shape of SHAPES) {
      for (const spelling of SPELLINGS[kindOf(shape)]) {
        const body = shape.template.replace('P', spelling)
        const reply = await send(`${proxy.url}/stacks/abc/servers/def.json`, {
          method,
          body,
          headers: shape.contentType === undefined ? {} : { 'content-type': shape.contentType },
        })
        t.is(reply.status, 403, `${method} ${shape.name} ${spelling}: ${reply.body.toString()}`)
        tried += 1
      }
    }
  }
  t.is(sim.requests.length, 0)
  t.log(`${tried} requests refused`)
})

test('the same bodies without the parameter reach Cloud 66 with exactly the bytes that were sent', async (t) => {
  const { sim, proxy } = await proxyWithRule(t)
  for (const method of ['GET', 'PUT']) {
    for (const shape of SHAPES) {
      const body = shape.template.replace('P', 'include_public_keys')
      const before = sim.requests.length
      const reply = await send(`${proxy.url}/api/3/echo`, {
        method,
        body,
        headers: shape.contentType === undefined ? {} : { 'content-type': shape.contentType },
      })
      t.is(reply.status, 200, `${method} ${shape.name}: ${reply.body.toString()}`)
      const seen = sim.requests.slice(before)
      t.is(seen.length, 1)
      t.true(seen[0]?.body.equals(Buffer.from(body)), `${method} ${shape.name}: the body arrived byte for byte`)
    }
  }
})

test('a chunked body under a parameter rule is read, checked and forwarded with a Content-Length', async (t) => {
  const { sim, proxy } = await proxyWithRule(t)
  const refused = await send(`${proxy.url}/stacks.json`, {
    method: 'POST',
    chunked: true,
    body: 'a=1&include_private_key=1',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  })
  t.is(refused.status, 403)
  t.is(sim.requests.length, 0)
  const passed = await send(`${proxy.url}/api/3/echo`, {
    method: 'POST',
    chunked: true,
    body: 'a=1&b=2',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  })
  t.is(passed.status, 200)
  const [record] = sim.requests
  t.is(record?.headers['content-length'], '7')
  t.is(record?.headers['transfer-encoding'], undefined)
  t.is(record?.body.toString(), 'a=1&b=2')
})

test('a body that cannot be checked under a parameter rule is refused, never forwarded unread', async (t) => {
  const { sim, proxy } = await proxyWithRule(t, { inspectBodyLimit: 1024 })
  const big = await send(`${proxy.url}/stacks.json`, {
    method: 'POST',
    body: `a=${'x'.repeat(2000)}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  })
  t.is(big.status, 413)
  t.is(jsonError(big), 'payload_too_large')
  const bigChunked = await send(`${proxy.url}/stacks.json`, {
    method: 'POST',
    chunked: true,
    body: `a=${'x'.repeat(2000)}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  })
  t.is(bigChunked.status, 413)
  const unknown = await send(`${proxy.url}/stacks.json`, { method: 'GET', body: 'include_private_key=1', headers: { 'content-type': 'text/plain' } })
  t.is(unknown.status, 415)
  t.is(jsonError(unknown), 'unsupported_media_type')
  const gzipped = await send(`${proxy.url}/stacks.json`, {
    method: 'POST',
    body: 'a=1',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-encoding': 'gzip' },
  })
  t.is(gzipped.status, 415)
  const broken = await send(`${proxy.url}/stacks.json`, { method: 'POST', body: '{"include_private_key":', headers: { 'content-type': 'application/json' } })
  t.is(broken.status, 400)
  t.is(jsonError(broken), 'bad_request')
  t.is(sim.requests.length, 0)
})

test('without a parameter rule, a body of any type and size streams as before', async (t) => {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, flags: { inspectBodyLimit: 1024 }, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  const body = 'x'.repeat(4096)
  for (const type of ['text/plain', 'application/json', 'application/octet-stream']) {
    const reply = await send(`${proxy.url}/api/3/echo`, { method: 'PUT', body, headers: { 'content-type': type } })
    t.is(reply.status, 200, type)
  }
  t.is(sim.requests.length, 3)
})
