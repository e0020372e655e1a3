// Prometheus' own linter on what /-/metrics serves: promtool is what an operator's CI runs on an
// exporter, and a name it rejects (a gauge called *_total) breaks recording rules and dashboards
// that follow the conventions. promtool comes from Debian's `prometheus` package (.ci/run).
import { spawn } from 'node:child_process'
import test from 'ava'
import { ALL_SCOPES } from '../../src/simulator/index.js'
import { send, startSim } from '../helpers/forwarding.js'
import { startProxy } from '../helpers/proxy.js'
import { rawRequest } from '../helpers/raw-http.js'

function promtoolCheck(text: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (c: Buffer) => (output += c.toString()))
    child.stderr.on('data', (c: Buffer) => (output += c.toString()))
    child.on('error', (err) => reject(new Error(`promtool is not installed (Debian: apt-get install prometheus; .ci/run does): ${err.message}`)))
    child.on('close', (code) => resolve({ code, output }))
    child.stdin.end(text)
  })
}

test('promtool check metrics finds nothing to complain about in /-/metrics after traffic of every kind', async (t) => {
  const sim = await startSim(t, { tokens: { 'sim-token': ALL_SCOPES } })
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: 'sim-token' } })
  // Series of every family: forwarded, upstream error, refused by a guard, the proxy's own pages.
  t.is((await send(`${proxy.url}/stacks.json`)).status, 200)
  t.is((await send(`${proxy.url}/api/3/status/503`)).status, 503)
  t.is((await send(`${proxy.url}/-/healthz`)).status, 200)
  t.is((await rawRequest(proxy.port, `GET /stacks HTTP/1.1\r\nHost: rebind.example\r\nConnection: close\r\n\r\n`)).status, 403)
  const text = (await send(`${proxy.url}/-/metrics`)).body.toString('utf8')
  t.regex(text, /^c66_proxy_requests_total\{/m, 'the request series are there to be checked')
  t.regex(text, /^c66_proxy_upstream_connections_opened_total\{tls_session="none"\} 1$/m, 'the upstream connection counter too')
  t.regex(text, /^# TYPE c66_proxy_nodejs_active_handles gauge$/m, 'the per-type gauges stay; only their *_total sums go')

  // The linter itself must be able to fail: a gauge named *_total is what it rejected before.
  const broken = await promtoolCheck('# HELP x_total a gauge\n# TYPE x_total gauge\nx_total 1\n')
  t.not(broken.code, 0, broken.output)

  const result = await promtoolCheck(text)
  t.is(result.output, '', 'no lint findings')
  t.is(result.code, 0)
})
