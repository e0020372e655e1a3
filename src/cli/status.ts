import type { Config } from '../config/types.js'
import { listenLabel, openLocal, probeProxy } from './context.js'
import { sourceRows, tokenFields } from '../tokens/token-view.js'

/** `c66-proxy status`: the token in use (fingerprint only), where it came from, upstream, listen address. */
export async function status(config: Config, json: boolean): Promise<void> {
  const ctx = await openLocal(config)
  try {
    const report = await ctx.tokens.describe()
    const listen = listenLabel(config.listen)
    const running = await probeProxy(config.listen)
    const token = tokenFields(report, ctx.store.location)
    const out = {
      mode: config.mode,
      listen,
      running,
      upstream: `${config.upstream.origin}/api/3`,
      login_required: report.loginRequired,
      token,
      sources: sourceRows(report, ctx.store.location),
    }
    if (json) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`)
    else {
      const tokenLine = report.loginRequired
        ? 'login required — the stored Cloud 66 login was revoked or could not be refreshed; run `c66-proxy login`'
        : token
          ? `${token.source} (${token.location}), fingerprint ${token.fingerprint}${token.origin !== null ? `, scopes ${token.scope ?? '?'}, expires ${token.expires_at ?? 'never'}` : ''}`
          : 'none — API requests will get 401'
      const lines = [
        `mode:      ${out.mode}`,
        `listen:    ${listen} (${running ? 'a proxy is answering there' : 'nothing answering there'})`,
        `upstream:  ${out.upstream}`,
        `token:     ${tokenLine}`,
        'sources, in order:',
        ...out.sources.map((r) => `  ${r.source.padEnd(22)} ${r.state}${r.problem ? `: ${r.problem}` : ''}  ${r.location}`),
      ]
      process.stdout.write(`${lines.join('\n')}\n`)
    }
    if (!report.active) process.exitCode = 1
  } finally {
    await ctx.close()
  }
}
