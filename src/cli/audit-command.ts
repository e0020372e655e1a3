import type { Command } from 'commander'
import { verifyAuditFile } from '../audit/verify.js'

/**
 * `c66-proxy audit verify FILE`: exit 0 for an intact hash chain, 1 with the first broken line's
 * 1-based number, 2 when the file cannot be read.
 */
export function registerAuditCommand(program: Command): void {
  const audit = program.command('audit').description('the tamper-evident audit log')
  audit
    .command('verify')
    .description("check every replica's hash chain in an audit log; print the first line where it breaks")
    .argument('<file>', 'the audit log (JSON lines)')
    .option('--json', 'machine-readable output')
    .action(async (file: string, opts: { json?: boolean }) => {
      let result
      try {
        result = await verifyAuditFile(file)
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
