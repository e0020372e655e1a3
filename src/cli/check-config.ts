import { localStore } from '../open.js'
import { systemClock } from '../clock.js'
import { loadConfig } from '../config/load.js'
import type { Config } from '../config/types.js'
import { ConfigError, type ConfigProblem } from '../errors.js'
import { StoreError } from '../store/types.js'
import { listenLabel, openLocal } from './context.js'
import { settingFlags } from './options.js'
import { configWarnings } from './warnings.js'

/** What `check-config --json` prints: the text output's findings, one document. */
export interface CheckResult {
  readonly ok: boolean
  /** The effective listen address and upstream; null when the configuration does not load. */
  readonly listen: string | null
  readonly upstream: string | null
  readonly problems: readonly ConfigProblem[]
  readonly warnings: readonly string[]
}

/**
 * `c66-proxy check-config [--json]`: every configuration problem at once (exit 1 if any), then
 * warnings about the token sources. A store that cannot be opened is a problem too.
 */
export async function checkConfig(opts: Record<string, unknown>, env: NodeJS.ProcessEnv, json: boolean): Promise<void> {
  const result = await check(opts, env)
  if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
  else if (!result.ok) process.stderr.write(`${new ConfigError(result.problems).message}\n`)
  else {
    process.stdout.write(`configuration OK: listen ${result.listen}, upstream ${result.upstream}\n`)
    for (const warning of result.warnings) process.stdout.write(`warning: ${warning}\n`)
  }
  if (!result.ok) process.exitCode = 1
}

async function check(opts: Record<string, unknown>, env: NodeJS.ProcessEnv): Promise<CheckResult> {
  let config: Config
  try {
    config = loadConfig({ flags: settingFlags(opts), env })
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    return { ok: false, listen: null, upstream: null, problems: err.problems, warnings: [] }
  }
  const listen = listenLabel(config.listen)
  const upstream = `${config.upstream.origin}/api/3`
  // openLocal() would stop the process on a store it cannot read; here that is one more problem.
  const store = localStore(config, systemClock)
  try {
    await store.check()
  } catch (err) {
    if (!(err instanceof StoreError || err instanceof ConfigError)) throw err
    return { ok: false, listen, upstream, problems: [{ setting: 'token store', message: err.message }], warnings: [] }
  } finally {
    await store.close()
  }
  const ctx = await openLocal(config)
  try {
    return { ok: true, listen, upstream, problems: [], warnings: await configWarnings(config, await ctx.tokens.describe()) }
  } finally {
    await ctx.close()
  }
}
