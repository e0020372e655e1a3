import type { Config } from '../config/types.js'
import { fetchProxyJson, listenLabel, openLocal, probeProxy } from './context.js'
import type { BudgetJson } from '../budget/budget-view.js'
import { sourceRows, tokenFields } from '../tokens/token-view.js'

/** `c66-proxy status`: the token in use (fingerprint only), where it came from, upstream, listen address. */
export async function status(config: Config, json: boolean): Promise<void> {
  const ctx = await openLocal(config)
  try {
    const report = await ctx.tokens.describe()
    const listen = listenLabel(config.listen)
    const running = await probeProxy(config.listen)
    // The hourly budget lives in the running proxy: what it has sent this hour.
    const budget = running ? (((await fetchProxyJson(config.listen, '/-/budget')) as BudgetJson | undefined) ?? null) : null
    const token = tokenFields(report, ctx.store.location)
    const out = {
      mode: config.mode,
      listen,
      running,
      upstream: `${config.upstream.origin}/api/3`,
      login_required: report.loginRequired,
      token,
      sources: sourceRows(report, ctx.store.location),
      budget,
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
        `budget:    ${budget === null ? (running ? 'not reported by the running proxy' : 'no proxy running (the count lives in the running proxy)') : budgetLine(budget)}`,
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

/** The budget JSON as one line: `12 of 3000 used this hour (until 11:00 UTC), 2988 left`. */
function budgetLine(b: BudgetJson): string {
  const of = b.budget === null ? '' : ` of ${b.budget}`
  const left = b.remaining === null ? '' : `, ${b.remaining} left`
  const said = b.cloud66 === null ? '' : ` (Cloud 66 says ${b.cloud66.remaining} left)`
  const refusing = b.refusing === null ? '' : `; refusing until ${b.refusing.until.slice(11, 16)} UTC (${b.refusing.why})`
  return `${b.used}${of} used this hour (until ${b.window_end.slice(11, 16)} UTC)${left}${said}${refusing}`
}
