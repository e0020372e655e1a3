/**
 * The one script of the gateway pages, served from /-/assets/gateway.js (CSP `script-src 'self'`:
 * no inline script, no third party). It drives the JSON API with the session cookie; every
 * state-changing call sends Content-Type: application/json.
 */
export const GATEWAY_JS = String.raw`'use strict'
const $ = (sel) => document.querySelector(sel)
const api = async (method, path, body) => {
  const res = await fetch('/-/api' + path, {
    method, credentials: 'same-origin',
    headers: method === 'GET' ? {} : { 'content-type': 'application/json' },
    body: method === 'GET' ? undefined : JSON.stringify(body ?? {}),
  })
  const data = await res.json().catch(() => ({}))
  if (!res.ok) throw new Error(data.message || ('HTTP ' + res.status))
  return data
}
const text = (tag, value, cls) => { const el = document.createElement(tag); el.textContent = value; if (cls) el.className = cls; return el }
const show = (msg, bad) => { const el = $('#message'); el.textContent = msg; el.className = bad ? 'bad' : 'ok' }

async function renderKeys(list, path, owner) {
  const keys = await api('GET', path)
  const body = list.querySelector('tbody')
  body.replaceChildren()
  for (const k of keys) {
    const tr = document.createElement('tr')
    tr.dataset.keyId = k.id
    tr.append(text('td', k.label), text('td', k.created_at || ''), text('td', k.last_used_at || 'never'),
      text('td', k.expires_at || 'never'), text('td', k.read_only ? 'read-only' : 'full'),
      text('td', k.revoked_at ? 'revoked ' + k.revoked_at : 'active', k.revoked_at ? 'bad' : 'ok'))
    const td = document.createElement('td')
    if (!k.revoked_at) {
      const b = text('button', 'Revoke')
      b.type = 'button'
      b.addEventListener('click', async () => {
        try { await api('DELETE', '/keys/' + encodeURIComponent(k.id)); show('Key "' + k.label + '" revoked.'); await renderKeys(list, path, owner) }
        catch (e) { show(e.message, true) }
      })
      td.append(b)
    }
    tr.append(td)
    body.append(tr)
  }
}

async function memberPage() {
  const keysTable = $('#keys')
  await renderKeys(keysTable, '/keys')
  $('#create-key').addEventListener('submit', async (ev) => {
    ev.preventDefault()
    const form = ev.target
    const req = { label: form.label.value || 'key', read_only: form.read_only.checked }
    if (form.expires.value) req.expires = form.expires.value
    try {
      const created = await api('POST', '/keys', req)
      $('#new-key').textContent = created.key
      $('#new-key-box').hidden = false
      show('Key created. Copy it now: it is shown only once.')
      form.reset()
      await renderKeys(keysTable, '/keys')
    } catch (e) { show(e.message, true) }
  })
  $('#copy-key').addEventListener('click', async () => {
    const key = $('#new-key').textContent
    try { await navigator.clipboard.writeText(key); show('Copied to the clipboard.') } catch { show('Select the key and copy it by hand.', true) }
  })
}

async function adminPage() {
  const members = await api('GET', '/members')
  const body = $('#members tbody')
  body.replaceChildren()
  for (const m of members) {
    const tr = document.createElement('tr')
    tr.dataset.memberId = m.id
    tr.append(text('td', m.id), text('td', m.kind), text('td', m.token.login_required ? 'login required' : m.token.present ? 'linked' : 'none'), text('td', String(m.keys)))
    const td = document.createElement('td')
    const keys = text('button', 'Keys'); keys.type = 'button'
    keys.addEventListener('click', async () => { $('#member-keys-title').textContent = 'Keys of ' + m.id; await renderKeys($('#member-keys'), '/members/' + encodeURIComponent(m.id) + '/keys') })
    const remove = text('button', 'Remove'); remove.type = 'button'
    remove.addEventListener('click', async () => {
      if (!confirm('Remove ' + m.id + ', revoke all their keys and delete their Cloud 66 token?')) return
      try { await api('DELETE', '/members/' + encodeURIComponent(m.id)); show(m.id + ' removed.'); await adminPage() } catch (e) { show(e.message, true) }
    })
    td.append(keys, remove)
    tr.append(td)
    body.append(tr)
  }
}

document.addEventListener('DOMContentLoaded', () => {
  const page = document.body.dataset.page
  const run = page === 'admin' ? adminPage : page === 'member' ? memberPage : null
  if (run) run().catch((e) => show(e.message, true))
})
`
