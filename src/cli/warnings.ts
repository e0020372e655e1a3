import { stat } from 'node:fs/promises'
import type { Config } from '../config/types.js'
import { canTellPeerUsers } from '../net/peer-uid.js'
import type { TokenReport } from '../tokens/token-service.js'

/**
 * What `check-config` prints as warnings and `serve` logs at start-up: things that do not stop the
 * proxy but will make requests fail. Each names the step that fixes it in this configuration.
 */
export async function configWarnings(config: Config, report: TokenReport): Promise<string[]> {
  const warnings = (report.local?.report ?? [])
    .filter((r) => r.state === 'invalid')
    .map((r) => `token source ${r.source} (${r.location}) ${r.problem ?? 'is invalid'}`)
  // Named on its own (the token sources only say "absent", and not at all once another source
  // wins): a mistyped path would otherwise only show up as "no token".
  const missing = await missingFile(config.tokenFile)
  if (missing !== undefined) warnings.push(`--token-file ${missing} does not exist; it is read once it appears, so check the path`)
  const oauth = config.oauth.clientId !== undefined
  if (report.loginRequired) {
    warnings.push(
      oauth
        ? 'the stored Cloud 66 login is no longer valid: run `c66-proxy login` (or open /-/login)'
        : 'the stored Cloud 66 token is no longer valid: store a new one with `c66-proxy token set`, or remove it with `c66-proxy logout`',
    )
  } else if (!report.active) warnings.push('no Cloud 66 token found; the proxy starts, but API requests get 401 until one is provided')
  if (oauth && config.oauth.clientSecret === undefined) {
    warnings.push('C66_CLIENT_ID is set without C66_CLIENT_SECRET; the proxy will act as a public OAuth client (PKCE only)')
  }
  warnings.push(...otherUserWarnings(config))
  return warnings
}

/** Local mode on a machine where the proxy cannot tell which OS user connects. */
export function otherUserWarnings(config: Config, canTell: () => boolean = canTellPeerUsers): string[] {
  if (config.mode !== 'local' || config.unsafeListenAny) return []
  if (config.listen.socket !== undefined) {
    return config.allowedUids.length > 0
      ? ['--allow-users has no effect with --listen unix:: only you can open the socket (mode 0600 in a 0700 directory)']
      : []
  }
  if (canTell()) return []
  return [
    `on ${process.platform} the proxy cannot tell which OS user connects to ${config.listen.host}:${config.listen.port}: any account on this machine can use your Cloud 66 token through it. On a shared machine use --listen unix:/PATH instead.`,
  ]
}

/** The path when nothing is there (ENOENT/ENOTDIR); other errors are the token source's to report. */
async function missingFile(path: string | undefined): Promise<string | undefined> {
  if (path === undefined) return undefined
  try {
    await stat(path)
    return undefined
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    return code === 'ENOENT' || code === 'ENOTDIR' ? path : undefined
  }
}
