import type { Config } from '../config/types.js'
import type { TokenReport } from '../tokens/token-service.js'
import { hostPort, openLocal, probe } from './context.js'
import { whenText } from '../time-format.js'

export function tokenWarnings(report: TokenReport): string[] {
  const warnings = (report.local?.report ?? []).filter((r) => r.state === 'invalid').map((r) => `token source ${r.source} (${r.location}) ${r.problem ?? 'is invalid'}`)
  if (report.loginRequired) warnings.push('the stored Cloud 66 login is no longer valid: run `c66-proxy login` (or open /-/login)')
  else if (!report.active) warnings.push('no Cloud 66 token found; the proxy starts, but API requests get 401 until one is provided')
  return warnings
}


/** `c66-proxy status`: the token in use (fingerprint only), where it came from, upstream, listen address. */
export async function status(config: Config, json: boolean): Promise<void> {
  const ctx = await openLocal(config)
  try {
    const report = await ctx.tokens.describe()
    const listen = hostPort(config.listen.host, config.listen.port)
    const running = await probe(`http://${listen}/-/healthz`)
    const a = report.active
    const out = {
      mode: config.mode,
      listen,
      running,
      upstream: `${config.upstream.origin}/api/3`,
      login_required: report.loginRequired,
      token: a
        ? {
            source: a.source,
            location: a.location,
            fingerprint: a.token.fingerprint,
            scope: a.stored?.scope ?? null,
            obtained_at: a.stored ? whenText(a.stored.obtainedAt) : null,
            expires_at: a.stored ? whenText(a.stored.expiresAt) : null,
          }
        : null,
      sources: report.local?.report ?? [],
    }
    if (json) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`)
    else {
      const tokenLine = report.loginRequired
        ? 'login required — the stored Cloud 66 login was revoked or could not be refreshed; run `c66-proxy login`'
        : a
          ? `${a.source} (${a.location}), fingerprint ${a.token.fingerprint}${a.stored ? `, scopes ${a.stored.scope ?? '?'}, expires ${whenText(a.stored.expiresAt)}` : ''}`
          : 'none — API requests will get 401'
      const lines = [
        `mode:      ${out.mode}`,
        `listen:    ${listen} (${running ? 'a proxy is answering there' : 'nothing answering there'})`,
        `upstream:  ${out.upstream}`,
        `token:     ${tokenLine}`,
        'sources, in order:',
        `  ${'store'.padEnd(22)} ${report.stored ? (report.stored.loginRequired ? 'login required' : a?.source === 'store' ? 'used' : 'shadowed') : 'absent'}  ${ctx.store.location}`,
        ...out.sources.map((r) => `  ${r.source.padEnd(22)} ${r.state}${r.problem ? `: ${r.problem}` : ''}  ${r.location}`),
      ]
      process.stdout.write(`${lines.join('\n')}\n`)
    }
    if (!a) process.exitCode = 1
  } finally {
    await ctx.close()
  }
}
