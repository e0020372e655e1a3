import type { Config } from '../config/types.js'
import { Secret } from '../secret.js'
import type { StoredToken } from '../store/types.js'
import { bearerTokenProblem } from '../formats/bearer-token.js'
import { LocalTokenSources } from '../tokens/local-sources.js'
import { LOCAL_CALLER } from '../tokens/token-service.js'
import { exitWith, openLocal } from './context.js'
import { tokenFields } from '../tokens/token-view.js'
import { readStdin } from './stdin.js'

function personal(token: string, origin: StoredToken['origin']): StoredToken {
  return {
    accessToken: new Secret(token),
    refreshToken: undefined,
    tokenType: 'Bearer',
    scope: undefined,
    expiresAt: undefined,
    obtainedAt: Date.now(),
    origin,
  }
}

/** `token set`: a personal access token from standard input (never argv: it would show in ps and shell history). */
export async function tokenSet(config: Config, input: NodeJS.ReadableStream): Promise<void> {
  const text = await readStdin(input)
  if (text === '') exitWith('no token on standard input (e.g. `pbpaste | c66-proxy token set`)', 2)
  const problem = bearerTokenProblem(text)
  if (problem !== undefined) exitWith(`standard input ${problem}`, 2)
  const ctx = await openLocal(config)
  try {
    const token = personal(text, 'personal')
    await ctx.store.putToken(LOCAL_CALLER, token)
    process.stdout.write(`stored a personal access token (fingerprint ${token.accessToken.fingerprint}) in ${ctx.store.location}\n`)
  } finally {
    await ctx.close()
  }
}

/**
 * `token import-cx`: copies the cx toolbelt's token (cx.json or a --cx-profile's file) into the
 * store. The file is found, read and checked exactly as the proxy reads it as a token source, so
 * what `status` calls invalid is refused here, with the same one-line reason.
 */
export async function tokenImportCx(config: Config): Promise<void> {
  const [found, report] = await new LocalTokenSources(config).readCx()
  if (!found) {
    exitWith(
      report.state === 'absent'
        ? `cannot read ${report.location} (ENOENT); log in with \`cx login\` first`
        : `${report.location} ${report.problem ?? 'is invalid'}`,
    )
  }
  const path = found.location
  const token = found.token.reveal()
  const ctx = await openLocal(config)
  try {
    const stored = personal(token, 'cx-import')
    await ctx.store.putToken(LOCAL_CALLER, stored)
    process.stdout.write(`imported the cx token from ${path} (fingerprint ${stored.accessToken.fingerprint}) into ${ctx.store.location}\n`)
  } finally {
    await ctx.close()
  }
}

/** `token show`: source, scopes, times and fingerprint; never the token. Same fields as `status --json`'s token. */
export async function tokenShow(config: Config, json: boolean): Promise<void> {
  const ctx = await openLocal(config)
  try {
    const report = await ctx.tokens.describe()
    const token = tokenFields(report, ctx.store.location)
    const out = {
      ...(token ?? { source: null, location: null, fingerprint: null, origin: null, scope: null, obtained_at: null, expires_at: null, refreshable: false }),
      login_required: report.loginRequired,
    }
    if (json) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`)
    else if (!token) process.stdout.write('no token (see `c66-proxy status` for every source)\n')
    else {
      // For people, a token with no expiry "never" expires (JSON says null).
      const shown = { ...out, expires_at: out.expires_at ?? 'never' }
      const rows = Object.entries(shown).map(([k, v]) => `${k.padEnd(15)} ${v === null ? '-' : String(v)}`)
      process.stdout.write(`${rows.join('\n')}\n`)
    }
    if (!report.active) process.exitCode = 1
  } finally {
    await ctx.close()
  }
}
