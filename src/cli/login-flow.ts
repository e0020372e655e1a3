import { randomBytes, timingSafeEqual } from 'node:crypto'
import http from 'node:http'
import { createInterface } from 'node:readline/promises'
import type { OAuthClient } from '../oauth/client.js'
import { OAuthError, OOB_REDIRECT_URI } from '../oauth/errors.js'
import type { StoredToken } from '../store/types.js'
import { openInBrowser, type BrowserHandOff } from './open-browser.js'

export interface CliLoginOptions {
  readonly oauth: OAuthClient
  /** Loopback address for the redirect (RFC 8252 §7.3); the path is always /-/callback. */
  readonly host: string
  readonly port: number
  readonly openBrowser: boolean
  readonly oob: boolean
  readonly timeoutMs: number
  readonly out: NodeJS.WritableStream
  readonly input: NodeJS.ReadableStream
  /** The environment the browser opener gets a minimal part of. */
  readonly env?: NodeJS.ProcessEnv
}

const noHandOff: BrowserHandOff = { close: async () => undefined }

const RESULT_PAGE = (ok: boolean, text: string) => `<!doctype html><meta charset="utf-8"><title>c66-proxy login</title><p>${ok ? '✔' : '✘'} ${text}</p>`

/**
 * `c66-proxy login` without a running proxy: a one-shot loopback listener receives the redirect
 * (RFC 8252), or with `--oob` the user pastes the code Cloud 66 shows (urn:ietf:wg:oauth:2.0:oob).
 * Either way the state and PKCE verifier never leave this process.
 *
 * The listener answers only a callback that carries this login's secret `k` as well as its state.
 * It is a query parameter rather than a path segment because the path must equal the registered
 * redirect URI's, while Doorkeeper ignores the query of a redirect URI when the registered one
 * has none (URIChecker.matches?). Another local user who calls the listener first learns nothing
 * and ends nothing: they cannot know `k` or the state, which are on no command line.
 */
export async function runCliLogin(o: CliLoginOptions): Promise<StoredToken> {
  if (o.oob) {
    const { url, pending } = await o.oauth.startLogin(OOB_REDIRECT_URI)
    o.out.write(`Open this URL, approve, and paste the code Cloud 66 shows:\n\n  ${url.href}\n\n`)
    const handOff = o.openBrowser ? await openInBrowser(url.href, o.env) : noHandOff
    const rl = createInterface({ input: o.input, output: o.out, terminal: false })
    const code = (await rl.question('Code: ').finally(() => handOff.close())).trim()
    rl.close()
    if (code === '') throw new OAuthError('invalid_response', undefined, 'no code was pasted')
    // Doorkeeper's oob page shows no state; the pasted code stands in for the redirect, and state
    // never left this process. It still goes through validateCallback: oauth4webapi redeems only
    // parameters that came out of its validateAuthResponse (a bare URLSearchParams is refused
    // before anything is sent, which made every --oob login fail).
    return o.oauth.exchangeCode(o.oauth.validateCallback(new URLSearchParams({ code, state: pending.state }), pending), pending)
  }

  const server = http.createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(o.port, o.host, () => resolve())
  })
  const address = server.address() as { port: number }
  const host = o.host.includes(':') ? `[${o.host}]` : o.host
  const secret = randomBytes(18).toString('base64url')
  const callback = `http://${host}:${address.port}/-/callback`
  const redirectUri = `${callback}?k=${secret}`
  let handOff = noHandOff
  try {
    const { url, pending } = await o.oauth.startLogin(redirectUri)
    o.out.write(`Log in to Cloud 66 in your browser:\n\n  ${url.href}\n\nWaiting for the redirect to ${callback} …\n`)
    if (o.openBrowser) handOff = await openInBrowser(url.href, o.env)
    const params = await new Promise<URLSearchParams>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no login within ${Math.round(o.timeoutMs / 1000)} s`)), o.timeoutMs)
      server.on('request', (req, res) => {
        const u = new URL(req.url ?? '/', redirectUri)
        if (u.pathname !== '/-/callback' || !sameSecret(u.searchParams.get('k'), secret) || (!u.searchParams.has('code') && !u.searchParams.has('error'))) {
          res.writeHead(404).end()
          return
        }
        // Only the attempt we started counts; a stray or forged request must not end the wait.
        if (u.searchParams.get('state') !== pending.state) {
          res
            .writeHead(400, { 'content-type': 'text/html; charset=utf-8' })
            .end(RESULT_PAGE(false, 'This login does not belong to the waiting command (state mismatch).'))
          return
        }
        const ok = u.searchParams.has('code')
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' })
        res.end(RESULT_PAGE(ok, ok ? 'Logged in. You can close this window and return to the terminal.' : 'Login cancelled. You can close this window.'))
        clearTimeout(timer)
        resolve(u.searchParams)
      })
    })
    const validated = o.oauth.validateCallback(params, pending)
    return await o.oauth.exchangeCode(validated, pending)
  } finally {
    server.closeAllConnections()
    server.close()
    await handOff.close()
  }
}

function sameSecret(given: string | null, secret: string): boolean {
  const a = Buffer.from(given ?? '')
  const b = Buffer.from(secret)
  return a.length === b.length && timingSafeEqual(a, b)
}

export { OAuthError }
