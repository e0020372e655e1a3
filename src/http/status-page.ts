import type { BudgetView } from '../budget/budget-book.js'
import { budgetText } from '../budget/budget-view.js'
import type { Config } from '../config/types.js'
import type { TokenReport } from '../tokens/token-service.js'
import { escapeHtml, page } from './html.js'
import { whenText } from '../time-format.js'
import { sourceRows } from '../tokens/token-view.js'

export { PAGE_CSP as STATUS_PAGE_CSP } from './html.js'

export interface StatusView {
  readonly config: Config
  readonly report: TokenReport
  readonly oauthConfigured: boolean
  /** Where the token store is, for its row among the token sources. */
  readonly storeLocation: string
  readonly csrf: string
  readonly now: number
  readonly budget: BudgetView
}

/** `/-/`: what a person needs to know and do, server-rendered, no scripts. */
export function renderStatusPage(v: StatusView): string {
  const { config, report } = v
  const active = report.active
  const stored = report.stored
  let tokenBlock: string
  if (report.loginRequired) {
    tokenBlock = `<p class="bad" id="token-state"><strong>Login required.</strong> Cloud 66 no longer accepts the stored login (revoked or expired); log in again.</p>`
  } else if (active) {
    const details = active.stored
      ? `<tr><th>Scopes</th><td>${escapeHtml(active.stored.scope ?? '(not reported)')}</td></tr>
<tr><th>Obtained</th><td>${escapeHtml(whenText(active.stored.obtainedAt))}</td></tr>
<tr><th>Expires</th><td>${escapeHtml(whenText(active.stored.expiresAt))}${active.stored.refreshToken ? ' (refreshed automatically)' : ''}</td></tr>`
      : ''
    const rejected = report.rejected ? ` <strong>Cloud 66 rejected this token (401)</strong>: replace it${v.oauthConfigured ? ' or log in again' : ''}.` : ''
    tokenBlock = `<p class="${report.rejected ? 'bad' : 'ok'}" id="token-state">Token in use from <strong>${escapeHtml(active.source)}</strong> (<code>${escapeHtml(active.location)}</code>), fingerprint <code>${escapeHtml(active.token.fingerprint)}</code>.${rejected}</p>
${details ? `<table>${details}</table>` : ''}`
  } else {
    tokenBlock = `<p class="bad" id="token-state"><strong>No Cloud 66 token.</strong> API requests get 401 until you provide one:</p>
<ul>${v.oauthConfigured ? '<li>log in with Cloud 66 (the button below), or</li>' : ''}
<li>set <code>CLOUD66_ACCESS_TOKEN</code> to a personal access token (Cloud 66 → Account → Authorized applications → personal tokens), or run <code>c66-proxy token set</code>, or</li>
<li>set <code>CLOUD66_TOKEN</code> to <code>cx dump-token | base64</code>, or</li>
<li>start the proxy with <code>--token-file PATH</code>, or</li>
<li>log in with the cx toolbelt (<code>cx login</code>), which writes <code>~/.cloud66/cx.json</code>.</li></ul>`
  }
  // A link, not a GET form: /-/login answers with a redirect to Cloud 66, and Chromium applies the
  // page's CSP `form-action 'self'` to a form's redirects too, so a form here was blocked.
  const loginButton = v.oauthConfigured
    ? `<a class="button" href="/-/login">Log in with Cloud 66</a>`
    : `<p>To log in with Cloud 66 here, register an OAuth application and set <code>C66_CLIENT_ID</code> and <code>C66_CLIENT_SECRET</code>.</p>`
  const logoutButton = stored
    ? `<form method="post" action="/-/logout"><input type="hidden" name="csrf" value="${escapeHtml(v.csrf)}"><button type="submit">Log out</button></form>`
    : ''
  const rows = sourceRows(report, v.storeLocation)
    .map(
      (r) =>
        `<tr><td>${escapeHtml(r.source)}</td><td><code>${escapeHtml(r.location)}</code></td><td>${escapeHtml(r.state)}${r.problem ? `: ${escapeHtml(r.problem)}` : ''}</td></tr>`,
    )
    .join('')
  return page(
    'c66-proxy',
    `<h1>c66-proxy</h1>
<table>
<tr><th>Mode</th><td>${escapeHtml(config.mode)}</td></tr>
<tr><th>Upstream</th><td><code>${escapeHtml(config.upstream.origin)}/api/3</code></td></tr>
<tr><th>Read-only</th><td>${config.readOnly ? 'yes' : 'no'}</td></tr>
</table>
<h2>Token</h2>${tokenBlock}
<p class="${v.budget.refusing === undefined ? 'ok' : 'bad'}" id="budget">Cloud 66 budget: ${escapeHtml(budgetText(v.budget))}.</p>
<div>${loginButton}${logoutButton}</div>
${rows ? `<h2>Token sources, in order</h2><table><tr><th>Source</th><th>Where</th><th>State</th></tr>${rows}</table>` : ''}
<p>Health: <a href="/-/healthz">/-/healthz</a> · Readiness: <a href="/-/readyz">/-/readyz</a> · Metrics: <a href="/-/metrics">/-/metrics</a></p>`,
  )
}
