import { Option, type Command } from 'commander'
import { CONFIG_FILE_SETTING, SETTINGS } from '../config/settings.js'

const valueNameOf = (s: (typeof SETTINGS)[number]) =>
  s.kind === 'bool' ? '' : ` <${s.kind === 'listen' ? 'host:port' : s.kind === 'list' ? 'items' : s.kind === 'url' ? 'url' : 'value'}>`

/**
 * Adds every setting's flag (or those in `only`) to a command, so each command reads the same configuration as
 * `serve` (flags > environment > config file > defaults). No defaults here: the loader owns them.
 */
export function addSettingOptions(cmd: Command, only?: readonly string[]): Command {
  cmd.addOption(new Option(`${CONFIG_FILE_SETTING.flag} <file>`, `JSON config file (env ${CONFIG_FILE_SETTING.env})`))
  // `only`: the settings this command reads; its --help lists those and no others.
  for (const s of only === undefined ? SETTINGS : SETTINGS.filter((x) => only.includes(x.key))) {
    const option = new Option(`${s.flag}${valueNameOf(s)}`, `${s.description} (env ${s.env})`)
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

/**
 * The settings and token sources, for `c66-proxy --help`. The top-level help otherwise lists only
 * the commands, and commander wraps per-command option text so a flag and its variable can land
 * on different lines; here each flag sits beside its environment variable on one line.
 */
export function settingsHelp(): string {
  const rows: Array<[string, string, string]> = [
    [`${CONFIG_FILE_SETTING.flag} <file>`, CONFIG_FILE_SETTING.env, 'JSON config file with any of the settings below, keyed as in config/default.json.'],
    ...SETTINGS.map((s): [string, string, string] => [`${s.flag}${valueNameOf(s)}`, s.env, s.description]),
  ]
  const width = Math.max(...rows.map(([flag]) => flag.length)) + 2
  const lines = [
    '',
    'Settings of serve, status and check-config (precedence: flag > environment > --config file > config/default.json):',
    ...rows.flatMap(([flag, env, description]) => [`  ${flag.padEnd(width)}${env}`, `      ${description}`]),
    '',
    'Cloud 66 token, first found wins:',
    '  the token store        what `c66-proxy login`, `token set` or `token import-cx` stored (<data dir>/store.json)',
    '  CLOUD66_ACCESS_TOKEN   a personal access token',
    '  CLOUD66_TOKEN          base64 of the cx toolbelt token file (cx dump-token | base64)',
    '  --token-file PATH      a file holding a raw token (or a cx token file)',
    "  ~/.cloud66/cx.json     the cx toolbelt's own file; with --cx-profile NAME, that profile's file from ~/.cloud66/cxprofiles.json",
    '',
    'Run `c66-proxy <command> --help` for the options of one command.',
  ]
  return lines.join('\n')
}
