import { loadConfig, loadStoreConfig, type StoreConfig } from '../config/load.js'
import type { Config } from '../config/types.js'
import { ConfigError } from '../errors.js'
import { settingFlags } from './options.js'

/** Loads the configuration for a command, or prints every problem and exits 2. */
export function configOrExit(opts: Record<string, unknown>, env: NodeJS.ProcessEnv): Config {
  try {
    return loadConfig({ flags: settingFlags(opts), env })
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`)
      process.exit(2)
    }
    throw err
  }
}

/** Loads only the store's settings (members, keys commands), or prints every problem and exits 2. */
export function storeConfigOrExit(opts: Record<string, unknown>, env: NodeJS.ProcessEnv): StoreConfig {
  try {
    return loadStoreConfig({ flags: settingFlags(opts), env })
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`)
      process.exit(2)
    }
    throw err
  }
}
