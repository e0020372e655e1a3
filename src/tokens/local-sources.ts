import { watch, type FSWatcher } from 'node:fs'
import { dirname, join } from 'node:path'
import type { Config } from '../config/types.js'
import { Secret } from '../secret.js'
import { parseTokenFile, parseCxTokenJson } from '../formats/cx-token.js'
import { NotATokenFile, readTokenFile } from '../formats/read-token-file.js'

export type TokenSourceName = 'CLOUD66_ACCESS_TOKEN' | 'CLOUD66_TOKEN' | 'token-file' | 'cx'

/** A token and where it came from; `location` is an environment variable name or a file path. */
export interface TokenSnapshot {
  readonly token: Secret
  readonly source: TokenSourceName
  readonly location: string
}

export interface SourceReport {
  readonly source: TokenSourceName
  readonly location: string
  readonly state: 'used' | 'absent' | 'invalid' | 'shadowed' | 'not-configured'
  readonly problem?: string
}

export interface Resolution {
  readonly snapshot: TokenSnapshot | undefined
  readonly report: readonly SourceReport[]
  /** True when the answer depends on files, which may change under us. */
  readonly fromFiles: boolean
}

/**
 * The local-mode token sources in their order of precedence: CLOUD66_ACCESS_TOKEN,
 * CLOUD66_TOKEN, --token-file, then the cx toolbelt's own file. First found wins; a broken
 * file is reported and skipped, never fatal, because files can be fixed while we run.
 */
export class LocalTokenSources {
  constructor(private readonly config: Config) {}

  async resolve(): Promise<Resolution> {
    const report: SourceReport[] = []
    let snapshot: TokenSnapshot | undefined
    const take = (found: TokenSnapshot | undefined, fallback: SourceReport): void => {
      if (found && !snapshot) {
        snapshot = found
        report.push({ source: found.source, location: found.location, state: 'used' })
      } else if (found) report.push({ source: found.source, location: found.location, state: 'shadowed' })
      else report.push(fallback)
    }
    const { accessToken, cxToken } = this.config.envTokens
    take(accessToken && { token: accessToken, source: 'CLOUD66_ACCESS_TOKEN', location: 'CLOUD66_ACCESS_TOKEN' }, {
      source: 'CLOUD66_ACCESS_TOKEN',
      location: 'CLOUD66_ACCESS_TOKEN',
      state: 'absent',
    })
    take(cxToken && { token: cxToken, source: 'CLOUD66_TOKEN', location: 'CLOUD66_TOKEN' }, {
      source: 'CLOUD66_TOKEN',
      location: 'CLOUD66_TOKEN',
      state: 'absent',
    })
    // Files are only read when nothing above won, so a proxy fed from the environment touches no disk.
    if (snapshot) return { snapshot, report, fromFiles: false }

    if (this.config.tokenFile === undefined) report.push({ source: 'token-file', location: '--token-file', state: 'not-configured' })
    else take(...(await this.readFileSource('token-file', this.config.tokenFile, parseTokenFile)))
    if (!snapshot) take(...(await this.readCx()))
    return { snapshot, report, fromFiles: true }
  }

  /** The cx toolbelt's token on its own (what `token import-cx` copies), with the same checks as resolve(). */
  async readCx(): Promise<[TokenSnapshot | undefined, SourceReport]> {
    const cx = await this.cxTokenPath()
    if ('problem' in cx) return [undefined, { source: 'cx', location: cx.location, state: 'invalid', problem: cx.problem }]
    return this.readFileSource('cx', cx.path, parseCxTokenJson)
  }

  /** Directories whose changes may change the answer of resolve(). */
  watchedDirectories(): string[] {
    const dirs = new Set<string>([this.config.cxHome])
    if (this.config.tokenFile !== undefined) dirs.add(dirname(this.config.tokenFile))
    return [...dirs]
  }

  /** Calls `onChange` when a watched directory changes; returns a function that stops watching. */
  watch(onChange: () => void): () => void {
    const watchers: FSWatcher[] = []
    for (const dir of this.watchedDirectories()) {
      try {
        const w = watch(dir, { persistent: false }, onChange)
        w.on('error', () => w.close())
        watchers.push(w)
      } catch {
        // A directory that does not exist yet cannot be watched; the short cache TTL covers it.
      }
    }
    return () => watchers.forEach((w) => w.close())
  }

  private async readFileSource(source: TokenSourceName, path: string, parse: (text: string) => string): Promise<[TokenSnapshot | undefined, SourceReport]> {
    let text: string
    try {
      text = await readTokenFile(path)
      // `echo tok > file` and cx truncate before they write: an empty read may be a file caught
      // half-way through a rewrite, so look once more before calling it invalid.
      if (text.trim() === '') text = await new Promise((r) => setTimeout(r, 50)).then(() => readTokenFile(path))
    } catch (err) {
      const problem = readProblem(err)
      return [undefined, { source, location: path, ...(problem === undefined ? { state: 'absent' } : { state: 'invalid', problem }) }]
    }
    try {
      return [
        { token: new Secret(parse(text)), source, location: path },
        { source, location: path, state: 'used' },
      ]
    } catch (err) {
      return [undefined, { source, location: path, state: 'invalid', problem: (err as Error).message }]
    }
  }

  /** ~/.cloud66/cx.json, or the profile's `token_file` from ~/.cloud66/cxprofiles.json (the cx toolbelt's layout since 2019). */
  private async cxTokenPath(): Promise<{ path: string } | { location: string; problem: string }> {
    const home = this.config.cxHome
    const profile = this.config.cxProfile
    if (profile === undefined) return { path: join(home, 'cx.json') }
    const location = join(home, 'cxprofiles.json')
    let text: string
    try {
      text = await readTokenFile(location)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      return { location, problem: err instanceof NotATokenFile ? err.message : `cannot read (${code ?? 'error'}) for --cx-profile ${profile}` }
    }
    let profiles: unknown
    try {
      profiles = JSON.parse(text)
    } catch {
      return { location, problem: 'not valid JSON' }
    }
    const entry = ownObject(ownObject(ownObject(profiles)?.['profiles'])?.[profile])
    if (!entry) return { location, problem: `has no profile named "${profile}"` }
    const named = entry['token_file']
    const file = typeof named === 'string' && named !== '' ? named : `cx_${profile.toLowerCase()}.json`
    // token_file is a bare name inside ~/.cloud66; refuse anything that would leave that directory.
    if (file.includes('/') || file.includes('\\') || file === '..') return { location, problem: `profile "${profile}" names an unexpected token_file` }
    return { path: join(home, file) }
  }
}

/** What is wrong with a token file that could not be read; undefined when it is simply not there. */
function readProblem(err: unknown): string | undefined {
  if (err instanceof NotATokenFile) return err.message
  const code = (err as NodeJS.ErrnoException).code
  return code === 'ENOENT' ? undefined : `cannot read (${code ?? 'error'})`
}

/** A JSON object's own properties, so that a profile named `constructor` or `__proto__` finds nothing inherited. */
function ownObject(value: unknown): Record<string, unknown> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
  return Object.fromEntries(Object.entries(value))
}
