import type { Config } from '../config/types.js'
import { OAuthError } from '../oauth/errors.js'
import { logout } from '../tokens/logout.js'
import { LOCAL_CALLER } from '../tokens/token-service.js'
import { exitWith, openLocal } from './context.js'
import { runCliLogin } from './login-flow.js'

export interface LoginFlags {
  readonly browser: boolean
  readonly oob: boolean
  readonly loginPort: number | undefined
  readonly timeoutMs: number
}

const NOT_CONFIGURED =
  'OAuth login is not configured: register an OAuth application in Cloud 66 and set C66_CLIENT_ID and C66_CLIENT_SECRET (see the README), or use `c66-proxy token set` with a personal access token'

/** `c66-proxy login`: the authorization-code flow from the terminal, stored like a browser login. */
export async function login(config: Config, flags: LoginFlags): Promise<void> {
  const ctx = await openLocal(config)
  try {
    if (!ctx.oauth) exitWith(NOT_CONFIGURED, 2)
    const token = await runCliLogin({
      oauth: ctx.oauth,
      host: config.listen.host === '::1' ? '::1' : '127.0.0.1',
      // Default: the proxy's own listen port, so one registered redirect URI (<public>/-/callback)
      // serves both; a proxy on a unix socket has none, and 8066 is the documented default.
      port: flags.loginPort ?? loginPort(config),
      openBrowser: flags.browser,
      oob: flags.oob,
      timeoutMs: flags.timeoutMs,
      out: process.stdout,
      input: process.stdin,
      env: process.env,
    })
    await ctx.store.putToken(LOCAL_CALLER, token)
    let who = ''
    try {
      const info = await ctx.oauth.tokenInfo(token.accessToken)
      if (info.resourceOwnerId !== undefined) who = ` as Cloud 66 user ${info.resourceOwnerId}`
    } catch {
      // who-am-I is a courtesy; the login itself succeeded
    }
    process.stdout.write(
      `Logged in to ${config.upstream.origin}${who} (scopes: ${token.scope ?? 'not reported'}; token fingerprint ${token.accessToken.fingerprint}).\n`,
    )
  } catch (err) {
    if (err instanceof OAuthError) exitWith(`login failed: ${err.message}`)
    if (err instanceof Error && /EADDRINUSE/.test((err as NodeJS.ErrnoException).code ?? '')) {
      exitWith(
        `cannot listen for the login redirect on port ${flags.loginPort ?? loginPort(config)} (in use — is the proxy running? then open its /-/login page instead, or pass --login-port)`,
      )
    }
    if (err instanceof Error && /no login within/.test(err.message)) exitWith(err.message)
    throw err
  } finally {
    await ctx.close()
  }
}

/** `c66-proxy logout`: revokes at <upstream>/oauth/revoke and deletes the stored token. */
export async function logoutCommand(config: Config): Promise<void> {
  const ctx = await openLocal(config)
  try {
    const result = await logout(LOCAL_CALLER, ctx.store, ctx.oauth)
    if (!result.deleted) {
      process.stdout.write('no stored token; nothing to log out\n')
      return
    }
    process.stdout.write(result.revoked ? 'token revoked at Cloud 66 and deleted\n' : `token deleted (${result.revokeProblem ?? 'not revoked'})\n`)
  } finally {
    await ctx.close()
  }
}

const loginPort = (config: Config): number => (config.listen.socket !== undefined ? 8066 : config.listen.port)
