import { createHash } from 'node:crypto'
import type { Config } from '../config/types.js'
import type { Resolution } from '../tokens/local-sources.js'

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;color:#1d2430}
h1{font-size:1.4rem}table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #dde}
.ok{color:#11772d}.bad{color:#b3261e}code{background:#f2f3f7;padding:0 .25rem;border-radius:3px}`

/** The page allows exactly its own inline style and nothing else: no scripts, no third-party assets. */
export const STATUS_PAGE_CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c)

export function renderStatusPage(config: Config, resolution: Resolution): string {
  const snap = resolution.snapshot
  const rows = resolution.report
    .map((r) => `<tr><td>${escapeHtml(r.source)}</td><td><code>${escapeHtml(r.location)}</code></td><td>${escapeHtml(r.state)}${r.problem ? `: ${escapeHtml(r.problem)}` : ''}</td></tr>`)
    .join('')
  const tokenLine = snap
    ? `<p class="ok">Token in use from <strong>${escapeHtml(snap.source)}</strong> (<code>${escapeHtml(snap.location)}</code>), fingerprint <code>${escapeHtml(snap.token.fingerprint)}</code>.</p>`
    : `<p class="bad"><strong>No Cloud 66 token.</strong> API requests get 401 until you provide one:</p>
<ul><li>set <code>CLOUD66_ACCESS_TOKEN</code> to a personal access token (Cloud 66 → Account → Authorized applications → personal tokens), or</li>
<li>set <code>CLOUD66_TOKEN</code> to <code>cx dump-token | base64</code>, or</li>
<li>start the proxy with <code>--token-file PATH</code>, or</li>
<li>log in with the cx toolbelt (<code>cx login</code>), which writes <code>~/.cloud66/cx.json</code>.</li></ul>`
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>c66-proxy</title><style>${STYLE}</style></head>
<body><h1>c66-proxy</h1>
<table>
<tr><th>Mode</th><td>${escapeHtml(config.mode)}</td></tr>
<tr><th>Upstream</th><td><code>${escapeHtml(config.upstream.origin)}/api/3</code></td></tr>
<tr><th>Read-only</th><td>${config.readOnly ? 'yes' : 'no'}</td></tr>
</table>
<h2>Token</h2>${tokenLine}
<h2>Token sources, in order</h2><table><tr><th>Source</th><th>Where</th><th>State</th></tr>${rows}</table>
<p>Health: <a href="/-/healthz">/-/healthz</a> · Readiness: <a href="/-/readyz">/-/readyz</a> · Metrics: <a href="/-/metrics">/-/metrics</a></p>
</body></html>`
}
