import type { Command } from 'commander'
import { auditKeysFromEnv, type AuditKeys } from '../audit/audit-key.js'
import { verifyAuditFile } from '../audit/verify.js'
import { ConfigError } from '../errors.js'

/**
 * `c66-proxy audit verify FILE`: exit 0 for intact MAC chains, 1 with the first failing line's
 * 1-based number, 2 when the file cannot be read or no usable secret is set (C66_PROXY_SECRET or
 * C66_PROXY_SECRET_FILE, plus C66_PROXY_PREVIOUS_SECRETS for lines written before a rotation).
 */
export function registerAuditCommand(program: Command, env: NodeJS.ProcessEnv): void {
  const audit = program.command('audit').description('the tamper-evident audit log')
  audit
    .command('verify')
    .description("check every line's MAC and every replica's chain in an audit log; print the first line that fails")
    .argument('<file>', 'the audit log (JSON lines)')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nNeeds the secret that wrote the log: C66_PROXY_SECRET or C66_PROXY_SECRET_FILE, and C66_PROXY_PREVIOUS_SECRETS\n(comma-separated) for lines written before a rotation.\n',
    )
    .action(async (file: string, opts: { json?: boolean }) => {
      const keys = keysOrExit(env)
      if (keys === undefined) return
      let result
      try {
        result = await verifyAuditFile(file, keys)
      } catch (err) {
        process.stderr.write(`c66-proxy: cannot read ${file}: ${(err as Error).message}\n`)
        process.exitCode = 2
        return
      }
      if (opts.json === true) process.stdout.write(`${JSON.stringify(result)}\n`)
      else if (result.ok) {
        const replicas = Object.entries(result.replicas)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([replica, lines]) => `${replica}=${lines}`)
        process.stdout.write(`ok: ${result.lines} lines, replicas: ${replicas.length > 0 ? replicas.join(', ') : 'none'}\n`)
      } else process.stdout.write(`chain broken at line ${result.line}: ${result.reason}\n`)
      process.exitCode = result.ok ? 0 : 1
    })
}

/** The audit keys, or undefined after saying why not (exit 2). ConfigError messages never hold a secret. */
function keysOrExit(env: NodeJS.ProcessEnv): AuditKeys | undefined {
  try {
    return auditKeysFromEnv(env)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    process.stderr.write(`c66-proxy: audit verify needs the secret that wrote the log.\n${err.message}\n`)
    process.exitCode = 2
    return undefined
  }
}
