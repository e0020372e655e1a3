import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ExecutionContext } from 'ava'

/** The cx toolbelt's token file: the Go oauth.Token struct as JSON (cloud66-api.md §2.1). */
export function cxTokenJson(token: string): string {
  return `${JSON.stringify({ AccessToken: token, RefreshToken: '', Expiry: '0001-01-01T00:00:00Z', Extra: null })}\n`
}

/** What `cx dump-token | base64` gives, the value of CLOUD66_TOKEN. */
export function cloud66TokenValue(token: string): string {
  return Buffer.from(cxTokenJson(token).trimEnd()).toString('base64')
}

export interface TempHome {
  /** The directory to pass as HOME. */
  readonly home: string
  /** `$HOME/.cloud66`, created. */
  readonly cxDir: string
  /** A scratch directory beside HOME for --token-file and friends. */
  readonly scratch: string
  /** Writes `$HOME/.cloud66/<name>` (default cx.json) holding the cx JSON for `token`. */
  writeCx(token: string, name?: string): string
  /** Writes `$HOME/.cloud66/cxprofiles.json` with the given profiles (name → token_file). */
  writeProfiles(profiles: Record<string, string>, last?: string): string
}

/** A throw-away HOME with an empty `~/.cloud66`, removed when the test ends. */
export function tempHome(t: ExecutionContext): TempHome {
  const root = mkdtempSync(join(tmpdir(), 'c66-home-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  const home = join(root, 'home')
  const cxDir = join(home, '.cloud66')
  const scratch = join(root, 'scratch')
  mkdirSync(cxDir, { recursive: true })
  mkdirSync(scratch)
  return {
    home,
    cxDir,
    scratch,
    writeCx(token, name = 'cx.json') {
      const path = join(cxDir, name)
      writeFileSync(path, cxTokenJson(token), { mode: 0o600 })
      return path
    },
    writeProfiles(profiles, last) {
      const path = join(cxDir, 'cxprofiles.json')
      const entries = Object.fromEntries(
        Object.entries(profiles).map(([name, file]) => [name, { name, token_file: file, base_url: 'https://app.cloud66.com', api_url: 'https://app.cloud66.com/api/3' }]),
      )
      writeFileSync(path, JSON.stringify({ last_profile: last ?? Object.keys(profiles)[0] ?? 'default', profiles: entries }, null, 2))
      return path
    },
  }
}
