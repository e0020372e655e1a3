// The WAN workload (issue 13): Cloud 66 is far away, and a command-line client (cx, a script's
// curl) opens a fresh connection for every call. Direct, each call pays a TCP handshake, a TLS
// handshake and the request itself across the distance; through the proxy on loopback, only the
// request crosses it, on the proxy's warm pooled connection. The upstream is the simulator over
// https (a self-signed certificate the proxy trusts through NODE_EXTRA_CA_CERTS, curl through
// --cacert) behind a relay that delays every chunk 20 ms each way.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { TLSSocket } from 'node:tls'
import { DEFAULT_TOKEN, startSimulator } from '../../src/simulator/index.js'
import { SELF_SIGNED } from '../helpers/forwarding.js'
import { startDelayRelay } from './delay-relay.js'
import { logCommand, renderCommand, runCommand } from './procs.js'
import { sample, startProduct } from './product.js'
import { fmt } from './stats.js'
import type { QuietResult } from './sys.js'
import { LOAD_CORE } from './targets.js'

/** Through the proxy, a call must take at most this share of a direct one (mean and p95). */
export const WAN_GOAL = 0.4
const PATH = '/api/3/stacks.json'

export interface CallStats {
  readonly n: number
  readonly failed: number
  /** curl's own time_total: from the start of the connection to the end of the answer. */
  readonly meanMs: number
  readonly p95Ms: number
  readonly minMs: number
  readonly maxMs: number
  /** The same calls timed from outside, curl's start-up and exit included. */
  readonly wallMeanMs: number
}

export interface WanResult {
  readonly calls: number
  readonly delayMs: number
  readonly direct?: CallStats
  readonly proxy?: CallStats
  /**
   * For comparison: the proxy without local mode's check of the caller's OS user, which reads
   * /proc/net/tcp and tcp6 once per new client connection (the kernel walks its whole connection
   * table for that, milliseconds on a large machine).
   */
  readonly proxyUnix?: CallStats
  readonly ratioMean?: number
  readonly ratioP95?: number
  readonly pass?: boolean
  /** Upstream connections the proxy opened, by TLS session (its own counter). */
  readonly opened?: { readonly new: number; readonly resumed: number }
  /** TLS connections the upstream accepted (direct calls and the proxy's), and their protocol versions. */
  readonly upstreamTls: { readonly connections: number; readonly protocols: readonly string[] }
  readonly error?: string
  /** How busy the machine was just before (the harness waits for a quiet moment first). */
  readonly quiet?: QuietResult
}

interface Call {
  readonly ok: boolean
  readonly ms: number
  readonly wallMs: number
}

async function curl(args: readonly string[]): Promise<Call> {
  const r = await runCommand('taskset', ['-c', LOAD_CORE, 'curl', '-sS', '-o', '/dev/null', '--max-time', '10', '-w', '%{http_code} %{time_total}', ...args], {
    timeoutMs: 15_000,
    logged: false,
  })
  const [status, total] = r.stdout.trim().split(' ')
  return { ok: r.code === 0 && status === '200', ms: Number(total) * 1000, wallMs: r.ms }
}

function stats(calls: readonly Call[]): CallStats {
  const good = calls.filter((c) => c.ok)
  const ms = good.map((c) => c.ms).sort((a, b) => a - b)
  const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
  return {
    n: calls.length,
    failed: calls.length - good.length,
    meanMs: mean(ms),
    // Nearest rank: of 50 calls, the 48th fastest.
    p95Ms: ms[Math.max(0, Math.ceil(ms.length * 0.95) - 1)] ?? NaN,
    minMs: ms[0] ?? NaN,
    maxMs: ms[ms.length - 1] ?? NaN,
    wallMeanMs: mean(good.map((c) => c.wallMs)),
  }
}

export async function runWan(options: { calls: number; delayMs: number; dir: string; home: string }): Promise<WanResult> {
  const sim = await startSimulator({ tls: SELF_SIGNED, budgetPerToken: 1_000_000, maxRecords: 0 })
  const protocols = new Set<string>()
  let connections = 0
  sim.server.on('secureConnection', (socket: TLSSocket) => {
    connections += 1
    protocols.add(socket.getProtocol() ?? 'unknown')
  })
  const upstreamTls = () => ({ connections, protocols: [...protocols] })
  const relay = await startDelayRelay({ host: '127.0.0.1', port: Number(sim.url.port) }, options.delayMs)
  try {
    const cert = join(options.dir, 'wan-upstream-cert.pem')
    await writeFile(cert, SELF_SIGNED.cert)
    const env = { HOME: options.home, CLOUD66_ACCESS_TOKEN: DEFAULT_TOKEN, NODE_EXTRA_CA_CERTS: cert }
    const upstream = ['--upstream', `https://127.0.0.1:${relay.port}`]
    const started = await startProduct(upstream, env)
    if (!started.ok)
      return {
        calls: options.calls,
        delayMs: options.delayMs,
        upstreamTls: upstreamTls(),
        error: `the proxy did not start: ${started.stderr.split('\n').slice(-3).join(' ')}`,
      }
    const { proxy } = started
    // The way to skip the per-connection check of the caller's OS user without giving it up: a
    // socket only the user can open (curl --unix-socket).
    const socket = join(options.dir, 'wan-run', 'c66-proxy.sock')
    const unixStart = await startProduct(upstream, env, socket)
    const unixProxy = unixStart.ok ? unixStart.proxy : undefined
    try {
      const direct = ['--cacert', cert, '-H', `Authorization: Bearer ${DEFAULT_TOKEN}`, `https://127.0.0.1:${relay.port}${PATH}`]
      const through = [`http://127.0.0.1:${proxy.port}${PATH}`]
      const throughUnix = unixProxy ? ['--unix-socket', socket, `http://localhost${PATH}`] : undefined
      const curlLine = (args: readonly string[]) =>
        renderCommand('taskset', ['-c', LOAD_CORE, 'curl', '-sS', '-o', '/dev/null', '--max-time', '10', '-w', '%{http_code} %{time_total}', ...args])
      logCommand(`${curlLine(direct)}   # WAN direct, ${options.calls}× in turn with:`)
      logCommand(`${curlLine(through)}   # WAN through the proxy, ${options.calls}×, in turn with:`)
      if (throughUnix) logCommand(`${curlLine(throughUnix)}   # WAN through the proxy on --listen unix:${socket}`)
      // One unmeasured call each first: a proxy opens its pooled connection, as any first call
      // after start-up does; curl and the disk cache warm up for all.
      await curl(direct)
      await curl(through)
      if (throughUnix) await curl(throughUnix)
      const directCalls: Call[] = []
      const proxyCalls: Call[] = []
      const unixCalls: Call[] = []
      // In turn, so every path sees the same moments of the machine's other load.
      for (let i = 0; i < options.calls; i++) {
        directCalls.push(await curl(direct))
        proxyCalls.push(await curl(through))
        if (throughUnix) unixCalls.push(await curl(throughUnix))
      }
      const metrics = await proxy.metrics()
      const d = stats(directCalls)
      const p = stats(proxyCalls)
      const ratioMean = p.meanMs / d.meanMs
      const ratioP95 = p.p95Ms / d.p95Ms
      return {
        calls: options.calls,
        delayMs: options.delayMs,
        direct: d,
        proxy: p,
        ...(unixCalls.length > 0 ? { proxyUnix: stats(unixCalls) } : {}),
        ratioMean,
        ratioP95,
        pass: d.failed === 0 && p.failed === 0 && ratioMean <= WAN_GOAL && ratioP95 <= WAN_GOAL,
        opened: {
          new: sample(metrics, 'c66_proxy_upstream_connections_opened_total', 'tls_session="new"'),
          resumed: sample(metrics, 'c66_proxy_upstream_connections_opened_total', 'tls_session="resumed"'),
        },
        upstreamTls: upstreamTls(),
      }
    } finally {
      await proxy.stop()
      await unixProxy?.stop()
    }
  } finally {
    await relay.close()
    await sim.close()
  }
}

export function renderWan(r: WanResult): string {
  const head = `## WAN: a fresh curl per call, HTTPS upstream ${r.delayMs} ms away each way (${r.calls} sequential calls each way)`
  if (r.error !== undefined || !r.direct || !r.proxy) return [head, '', `- **FAIL** ${r.error ?? 'no result'}`, ''].join('\n')
  const row = (name: string, s: CallStats) =>
    `| ${name} | ${fmt(s.meanMs, 1)} | ${fmt(s.p95Ms, 1)} | ${fmt(s.minMs, 1)} | ${fmt(s.maxMs, 1)} | ${fmt(s.wallMeanMs, 1)} | ${s.failed}/${s.n} |`
  return [
    head,
    '',
    `Each call is a new curl process (\`GET ${PATH}\`). The relay delays every chunk ${r.delayMs} ms each way and a new connection's first bytes by one more round trip (the TCP handshake); the proxy and curl run on loopback.` +
      (r.quiet
        ? ` The machine was ${fmt(r.quiet.busyPct, 0)} % busy just before${r.quiet.quiet ? '' : ` (still, after waiting ${fmt(r.quiet.waitedS, 0)} s: other work on the machine slows every row)`}.`
        : ''),
    '',
    '| path | mean ms | p95 ms | min ms | max ms | wall mean ms (curl start-up included) | failed |',
    '|---|---|---|---|---|---|---|',
    row('direct: curl → relay → upstream (TCP + TLS handshake + request, every call)', r.direct),
    row('through c66-proxy: curl → proxy on loopback → pooled connection → relay → upstream', r.proxy),
    ...(r.proxyUnix
      ? [
          row(
            "through c66-proxy on `--listen unix:PATH` (curl --unix-socket; the socket's permissions stand for the per-connection OS-user check)",
            r.proxyUnix,
          ),
        ]
      : []),
    '',
    `- proxy / direct: **${fmt(r.ratioMean, 2)}×** mean, **${fmt(r.ratioP95, 2)}×** p95` +
      (r.proxyUnix ? `; on a unix socket ${fmt(r.proxyUnix.meanMs / r.direct.meanMs, 2)}× mean, ${fmt(r.proxyUnix.p95Ms / r.direct.p95Ms, 2)}× p95` : ''),
    `- **${r.pass ? 'PASS' : 'FAIL'}** through the proxy ≤ ${WAN_GOAL}× direct (mean and p95), no failed call`,
    ...(r.proxyUnix
      ? [
          `- on TCP, local mode checks each new client connection's OS user by reading /proc/net/tcp; the kernel walks its whole connection hash to list it: most of the ${fmt(r.proxy.meanMs - r.proxyUnix.meanMs, 1)} ms per call between the two proxy rows`,
        ]
      : []),
    `- upstream connections the proxy opened: ${r.opened ? `${r.opened.new} new TLS, ${r.opened.resumed} resumed` : '-'} (its counter \`c66_proxy_upstream_connections_opened_total\`); the upstream accepted ${r.upstreamTls.connections} TLS connections in all (${r.upstreamTls.protocols.join(', ')})`,
    '',
  ].join('\n')
}
