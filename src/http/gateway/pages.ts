import type { BudgetView } from '../../budget/budget-book.js'
import { budgetText } from '../../budget/budget-view.js'
import type { Member } from '../../gateway/types.js'
import type { StoredToken } from '../../store/types.js'
import { escapeHtml, page } from '../html.js'
import { whenText } from '../../time-format.js'

/** The gateway pages run one script of their own (/-/assets/gateway.js) and nothing else. */
export function gatewayCsp(baseCsp: string): string {
  return baseCsp.replace("default-src 'none';", "default-src 'none'; script-src 'self'; connect-src 'self';")
}

/**
 * The login is a link, not a GET form: /-/login answers with a redirect to Cloud 66, and Chromium
 * applies the page's CSP `form-action 'self'` to a form's redirects too, so the form was blocked
 * (found by test/browser/member-journey.test.ts; the local status page learned the same lesson).
 */
export function signedOutPage(message: string | undefined): string {
  return page(
    'c66-proxy gateway',
    `<h1>c66-proxy team gateway</h1>
${message ? `<p class="bad" id="message">${escapeHtml(message)}</p>` : '<p id="message"></p>'}
<p>Log in with your own Cloud 66 account. Your tools then reach Cloud 66 through this gateway as you, with a gateway key instead of a Cloud 66 token.</p>
<a class="button" href="/-/login">Log in with Cloud 66</a>`,
  )
}

export function memberPage(member: Member, token: StoredToken | undefined, budget: BudgetView, admin: boolean, csrf: string, publicOrigin: string): string {
  const tokenLine = !token
    ? '<p class="bad" id="token-state">No Cloud 66 token linked: log in with Cloud 66 again.</p>'
    : token.loginRequired
      ? '<p class="bad" id="token-state"><strong>Login required.</strong> Cloud 66 no longer accepts your token; log in again.</p>'
      : `<p class="ok" id="token-state">Cloud 66 token linked (fingerprint <code>${escapeHtml(token.accessToken.fingerprint)}</code>, scopes ${escapeHtml(token.scope ?? 'not reported')}, obtained ${escapeHtml(whenText(token.obtainedAt))}, expires ${escapeHtml(whenText(token.expiresAt))}).</p>`
  return page(
    'c66-proxy gateway',
    `<h1>c66-proxy team gateway</h1>
<p>Signed in as <strong id="member-id">${escapeHtml(member.id)}</strong>${admin ? ' (admin: <a href="/-/admin">members</a>)' : ''}.</p>
${tokenLine}
<p class="${budget.refusing === undefined ? 'ok' : 'bad'}" id="budget">Cloud 66 budget: ${escapeHtml(budgetText(budget))}.</p>
<p id="message"></p>
<h2>Gateway keys</h2>
<p>Use a key as <code>Authorization: Bearer c66p_…</code>, or as the password of HTTP Basic:
<code>curl -u me:c66p_… ${escapeHtml(publicOrigin)}/stacks.json</code>.</p>
<form id="create-key"><label>Label <input name="label" required maxlength="100"></label>
<label>Expires in <input name="expires" placeholder="e.g. 30d (empty: never)"></label>
<label><input type="checkbox" name="read_only"> read-only</label>
<button type="submit">Create key</button></form>
<div id="new-key-box" hidden><p>Your new key (shown only once):</p><p><code id="new-key"></code> <button type="button" id="copy-key">Copy</button></p></div>
<table id="keys"><thead><tr><th>Label</th><th>Created</th><th>Last used</th><th>Expires</th><th>Access</th><th>State</th><th></th></tr></thead><tbody></tbody></table>
<p><a href="/-/login">Log in again with Cloud 66</a></p>
<form method="post" action="/-/logout"><input type="hidden" name="csrf" value="${escapeHtml(csrf)}"><button type="submit">Sign out</button></form>
<script src="/-/assets/gateway.js"></script>`,
  ).replace('<body>', '<body data-page="member">')
}

export function adminPage(member: Member): string {
  return page(
    'c66-proxy gateway: members',
    `<h1>Members</h1>
<p>Signed in as <strong>${escapeHtml(member.id)}</strong> (admin). <a href="/-/">Back</a></p>
<p id="message"></p>
<table id="members"><thead><tr><th>Member</th><th>Kind</th><th>Cloud 66 token</th><th>Active keys</th><th></th></tr></thead><tbody></tbody></table>
<h2 id="member-keys-title">Keys</h2>
<table id="member-keys"><thead><tr><th>Label</th><th>Created</th><th>Last used</th><th>Expires</th><th>Access</th><th>State</th><th></th></tr></thead><tbody></tbody></table>
<script src="/-/assets/gateway.js"></script>`,
  ).replace('<body>', '<body data-page="admin">')
}
