import { createHash } from 'node:crypto'

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;color:#1d2430}
h1{font-size:1.4rem}table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #dde}
.ok{color:#11772d}.bad{color:#b3261e}code{background:#f2f3f7;padding:0 .25rem;border-radius:3px}
button,a.button{font:inherit;padding:.4rem .9rem;border-radius:4px;border:1px solid #889;background:#f7f8fb;cursor:pointer}
a.button{display:inline-block;margin-right:.5rem;color:inherit;text-decoration:none}
form{display:inline-block;margin-right:.5rem}`

/** Pages allow exactly their own inline style and nothing else: no scripts, no third-party assets. */
export const PAGE_CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`

export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c)

/** A complete page around `body` (already escaped HTML). */
export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>${body}</body></html>`
}
