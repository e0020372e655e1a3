import { hkdfSync } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { parseSecret } from '../store/keys.js'

/**
 * The key that signs gateway session cookies, derived (HKDF-SHA256) from C66_PROXY_SECRET so
 * every replica signs alike, and separate from the key that seals the store.
 */
export function sessionKeyFrom(env: Readonly<Record<string, string | undefined>>): Buffer {
  const inline = env['C66_PROXY_SECRET']?.trim()
  const file = env['C66_PROXY_SECRET_FILE']?.trim()
  const text = inline || (file ? readFileSync(file, 'utf8') : '')
  const secret = parseSecret(text, inline ? 'C66_PROXY_SECRET' : 'C66_PROXY_SECRET_FILE')
  return Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'c66-proxy session v1', 32))
}
