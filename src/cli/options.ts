import { Option, type Command } from 'commander'
import { CONFIG_FILE_SETTING, SETTINGS } from '../config/settings.js'

/**
 * Adds every setting's flag to a command, so each command reads the same configuration as
 * `serve` (flags > environment > config file > defaults). No defaults here: the loader owns them.
 */
export function addSettingOptions(cmd: Command): Command {
  cmd.addOption(new Option(`${CONFIG_FILE_SETTING.flag} <file>`, `JSON config file (env ${CONFIG_FILE_SETTING.env})`))
  for (const s of SETTINGS) {
    const valueName = s.kind === 'bool' ? '' : ` <${s.kind === 'listen' ? 'host:port' : s.kind === 'list' ? 'items' : s.kind === 'url' ? 'url' : 'value'}>`
    const option = new Option(`${s.flag}${valueName}`, `${s.description} (env ${s.env})`)
    if (s.kind === 'list') option.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), ...value.split(',')])
    cmd.addOption(option)
  }
  return cmd
}

/** commander's attribute name for a flag (`--deny-path` → `denyPath`). */
const attributeName = (flag: string) => flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())

/** Re-keys parsed options by setting key, the shape the config loader reads. */
export function settingFlags(opts: Record<string, unknown>): Record<string, unknown> {
  const flags: Record<string, unknown> = { config: opts['config'] }
  for (const s of SETTINGS) flags[s.key] = opts[attributeName(s.flag)]
  return flags
}
