// The HTML Doorkeeper's AuthorizationsController renders (views authorizations/new, error, show):
// server-rendered, no script, no external asset, so a real browser with JavaScript off can drive
// it. Doorkeeper sends a signed-out user to the app's sign-in page first; the simulator has no
// sign-in, so the Authorize form carries a user picker instead.
import type { OAuthUser } from './oauth-store.js'

/** Scope descriptions, after the scope table in Cloud 66's docs (`reboot` is not in it). */
const SCOPE_TEXT: Readonly<Record<string, string>> = {
  public: 'Public read-only access and view limited stack information',
  redeploy: 'Redeploy any stacks you can access',
  jobs: 'View the scheduled jobs of the stacks you can access',
  users: "Manage other users' mobile devices",
  admin: 'Set and manage settings for the servers you can access',
  reboot: 'Reboot the servers you can access',
}

/** The hidden fields both consent forms carry, besides authenticity_token. */
export interface ConsentFields {
  readonly client_id: string
  readonly redirect_uri: string
  readonly state: string
  readonly response_type: string
  readonly scope: string
  readonly code_challenge: string
  readonly code_challenge_method: string
}

export interface ConsentPage {
  readonly clientName: string
  readonly scopes: readonly string[]
  readonly fields: ConsentFields
  readonly users: readonly OAuthUser[]
  readonly pageToken: string
  readonly authorizeToken: string
  readonly denyToken: string
}

/** Strict: nothing but the inline stylesheet loads; no form-action, so the redirect may leave. */
export const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#222}
h1{font-size:1.5rem}form{display:inline-block;margin:0 .5rem 1rem 0}button{font-size:1rem;padding:.4rem 1.2rem}
label{display:block;margin:0 0 1rem}pre,code{background:#f4f4f4;padding:.5rem;display:block;white-space:pre-wrap;word-break:break-all}`

function layout(title: string, body: string, csrfToken?: string): string {
  const csrf =
    csrfToken === undefined ? '' : `\n<meta name="csrf-param" content="authenticity_token">\n<meta name="csrf-token" content="${escapeHtml(csrfToken)}">`
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>${csrf}
<style>${STYLE}</style>
</head>
<body>
${body}
</body>
</html>
`
}

function hidden(name: string, value: string): string {
  return `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`
}

function consentForm(fields: ConsentFields, token: string, method: 'post' | 'delete', inner: string): string {
  const lines = [
    '<form method="post" action="/oauth/authorize">',
    ...(method === 'delete' ? [hidden('_method', 'delete')] : []),
    hidden('authenticity_token', token),
    ...Object.entries(fields).map(([name, value]) => hidden(name, value)),
    inner,
    '</form>',
  ]
  return lines.join('\n')
}

/** views/doorkeeper/authorizations/new: "Authorization required", the scopes, Authorize and Deny. */
export function renderConsent(page: ConsentPage): string {
  const scopes = page.scopes
    .map((scope) => `<li data-scope="${escapeHtml(scope)}"><strong>${escapeHtml(scope)}</strong>: ${escapeHtml(SCOPE_TEXT[scope] ?? scope)}</li>`)
    .join('\n')
  const options = page.users.map((user, i) => `<option value="${user.id}"${i === 0 ? ' selected' : ''}>${escapeHtml(user.email)}</option>`).join('')
  const picker = `<label>Signed in as <select name="user_id">${options}</select></label>`
  const body = `<header class="page-header" role="banner">
<h1>Authorization required</h1>
</header>
<main role="main">
<p>Authorize <strong>${escapeHtml(page.clientName)}</strong> to use your account?</p>
<div id="oauth-permissions">
<p>This application will be able to:</p>
<ul>
${scopes}
</ul>
</div>
<div class="actions">
${consentForm(page.fields, page.authorizeToken, 'post', `${picker}\n<button type="submit">Authorize</button>`)}
${consentForm(page.fields, page.denyToken, 'delete', '<button type="submit">Deny</button>')}
</div>
</main>`
  return layout('OAuth authorization required', body, page.pageToken)
}

/** views/doorkeeper/authorizations/error: answered with 200, never redirected, not even invalid_scope. */
export function renderError(description: string): string {
  return layout(
    'OAuth authorization required',
    `<div class="border-bottom mb-4">
<h1>An error has occurred</h1>
</div>
<main role="main">
<pre>${escapeHtml(description)}</pre>
</main>`,
  )
}

/** views/doorkeeper/authorizations/show: the out-of-band code to copy; no state is passed on. */
export function renderNativeCode(code: string): string {
  return layout(
    'OAuth authorization required',
    `<header class="page-header">
<h1>Authorization code:</h1>
</header>
<main role="main">
<code id="authorization_code">${escapeHtml(code)}</code>
</main>`,
  )
}
