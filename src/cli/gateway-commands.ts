import { randomBytes } from 'node:crypto'
import type { Command } from 'commander'
import { BudgetBook } from '../budget/budget-book.js'
import { readBudgets } from '../budget/budget-ledger.js'
import { budgetJson } from '../budget/budget-view.js'
import { openStore } from '../open.js'
import { systemClock } from '../clock.js'
import { MEMBER_LIST_SETTING_KEYS, STORE_SETTING_KEYS, type StoreConfig } from '../config/load.js'
import { ConfigError, ProxyError } from '../errors.js'
import { Directory } from '../gateway/directory.js'
import { memberIdOf } from '../gateway/member-id.js'
import { Secret } from '../secret.js'
import { StoreError, type TokenStore } from '../store/types.js'
import { exitWith } from './context.js'
import { openOperatorAudit, type OperatorAudit } from './operator-audit.js'
import { storeConfigOrExit } from './load.js'
import { addSettingOptions } from './options.js'
import { keyJson, memberJson } from '../gateway/json-shapes.js'
import { readStdin } from './stdin.js'

/**
 * Operators' commands, working directly on the configured store (file or Redis): what the admin
 * pages do, for scripts. Changes are announced on the store's invalidation channel, so running
 * Redis-backed replicas drop a revoked key or removed member at once.
 */
async function withDirectory<T>(config: StoreConfig, work: (d: Directory, store: TokenStore, audit: OperatorAudit | undefined) => Promise<T>): Promise<T> {
  let store: TokenStore
  let audit: OperatorAudit | undefined
  try {
    store = await openStore(config, systemClock)
    await store.check()
    audit = await openOperatorAudit(config)
  } catch (err) {
    if (err instanceof StoreError || err instanceof ConfigError) exitWith(err.message)
    if ((err as NodeJS.ErrnoException).code !== undefined) exitWith(`cannot open the audit log ${config.auditLog} (${(err as NodeJS.ErrnoException).code})`)
    throw err
  }
  // Sessions are never made here; the signing key only has to exist.
  const directory = new Directory(store, systemClock, config.storeOutageGraceMs, () => undefined, randomBytes(32))
  try {
    return await work(directory, store, audit)
  } catch (err) {
    if (err instanceof ProxyError || err instanceof StoreError) exitWith(err.message)
    throw err
  } finally {
    await audit?.close()
    await directory.close()
    await store.close()
  }
}

/** The admin commands read only the store's settings (and C66_PROXY_SECRET): their --help lists only those. */
const storeOptions = (cmd: Command): Command => addSettingOptions(cmd, STORE_SETTING_KEYS)

const print = (json: boolean, data: unknown, text: string) => process.stdout.write(json ? `${JSON.stringify(data, null, 2)}\n` : `${text}\n`)

export function registerGatewayCommands(program: Command, env: NodeJS.ProcessEnv): void {
  const members = program.command('members').description('gateway members (people and bots)')
  addSettingOptions(
    members.command('list').description("list members (never their tokens) and what each has spent of Cloud 66's hourly budget"),
    MEMBER_LIST_SETTING_KEYS,
  )
    .option('--json', 'machine-readable output')
    .action(async (opts: Record<string, unknown>) => {
      const json = opts['json'] === true
      const config = storeConfigOrExit(opts, env)
      await withDirectory(config, async (d, store) => {
        // What every replica reported sending this hour (each writes its count every 10 s).
        const now = Date.now()
        const budgets = await readBudgets(store, config.upstreamBudget, now)
        const empty = new BudgetBook({ now: () => now }, config.upstreamBudget)
        const rows = await Promise.all(
          (await d.listMembers()).map(async (m) => {
            const t = await store.getToken(m.id)
            const budget = budgetJson(budgets.get(m.id) ?? empty.view(m.id))
            return {
              ...memberJson(m),
              token: t ? (t.loginRequired ? 'login_required' : 'linked') : 'none',
              budget,
            }
          }),
        )
        const text = rows.map(
          (r) =>
            `${r.id.padEnd(32)} ${r.kind.padEnd(8)} token ${r.token.padEnd(15)} last login ${(r.last_login_at ?? 'never').padEnd(24)} budget ${r.budget.used}${r.budget.budget === null ? '' : `/${r.budget.budget}`} this hour${r.budget.refusing === null ? '' : ` (refusing: ${r.budget.refusing.why})`}`,
        )
        print(json, rows, rows.length === 0 ? 'no members' : text.join('\n'))
      })
    })
  storeOptions(members.command('add-token <name>').description('attach a personal access token (read from standard input) to a service member, for CI bots'))
    .option('--json', 'machine-readable output')
    .action(async (name: string, opts: Record<string, unknown>) => {
      const config = storeConfigOrExit(opts, env)
      const token = await readStdin(process.stdin)
      if (token === '' || /\s/.test(token)) exitWith('give exactly one personal access token on standard input', 2)
      const id = memberIdOf(name)
      await withDirectory(config, async (d, store, audit) => {
        const { created } = await d.addServiceMember(id)
        if (created) audit?.write({ event: 'member_added', object: id })
        const secret = new Secret(token)
        await store.putToken(id, {
          accessToken: secret,
          refreshToken: undefined,
          tokenType: 'Bearer',
          scope: undefined,
          expiresAt: undefined,
          obtainedAt: Date.now(),
          origin: 'personal',
        })
        audit?.write({ event: 'token_attached', object: id })
        print(opts['json'] === true, { member: id, fingerprint: secret.fingerprint }, `stored a token for ${id} (fingerprint ${secret.fingerprint})`)
      })
    })
  storeOptions(members.command('remove <name>').description('remove a member: revoke all their keys and delete their Cloud 66 token'))
    .option('--json', 'machine-readable output')
    .action(async (name: string, opts: Record<string, unknown>) => {
      const id = memberIdOf(name)
      await withDirectory(storeConfigOrExit(opts, env), async (d, _store, audit) => {
        const removed = await d.removeMember(id)
        if (!removed) exitWith(`no member ${id}`)
        audit?.write({ event: 'member_removed', object: id })
        print(opts['json'] === true, { removed: id }, `removed ${id}`)
      })
    })

  const keys = program.command('keys').description('gateway keys')
  storeOptions(keys.command('create').description('create a gateway key for a member; prints the key once, and its id'))
    .requiredOption('--member <name>', 'the bot the key acts as (service:NAME, or NAME)')
    .option('--label <label>', 'a name for the key', 'cli')
    .option('--read-only', 'the key may only GET and HEAD')
    .option('--expires <duration>', 'e.g. 30d, 12h (default: never)')
    .option('--json', 'machine-readable output: {"id", "key"}')
    .action(async (opts: Record<string, unknown>) => {
      const id = memberIdOf(String(opts['member']))
      // A key acts with its member's own Cloud 66 token: people make their own keys on the
      // gateway's /-/ page; operators issue keys for bots only.
      if (!id.startsWith('service:'))
        exitWith(`${id} is a person: people create their own keys on the gateway's /-/ page; keys create issues keys for bots (service:NAME)`)
      await withDirectory(storeConfigOrExit(opts, env), async (d, _store, audit) => {
        if (!(await d.member(id))) exitWith(`no member ${id} (members are created by logging in, or with members add-token)`)
        const request = { label: opts['label'], read_only: opts['readOnly'] === true, ...(opts['expires'] !== undefined ? { expires: opts['expires'] } : {}) }
        const { keyOptions } = await import('../gateway/key-request.js') // zod: loaded when used
        const { record, key } = await d.createKey(id, keyOptions(request, systemClock))
        audit?.write({ event: 'key_created', object: id, key_id: record.id, key_label: record.label })
        print(opts['json'] === true, { id: record.id, key }, `${key}\n(key id ${record.id} for ${id}; this is the only time the key is shown)`)
      })
    })
  storeOptions(keys.command('list').description('list keys (never the keys themselves)'))
    .option('--member <name>', 'only this member')
    .option('--json', 'machine-readable output')
    .action(async (opts: Record<string, unknown>) => {
      await withDirectory(storeConfigOrExit(opts, env), async (d) => {
        const rows = (await d.listKeys(opts['member'] === undefined ? undefined : memberIdOf(String(opts['member'])))).map(keyJson)
        print(
          opts['json'] === true,
          rows,
          rows.length === 0
            ? 'no keys'
            : rows
                .map((r) => `${r.id}  ${r.member}  ${r.label}  ${r.revoked_at ? `revoked ${r.revoked_at}` : 'active'}  last used ${r.last_used_at ?? 'never'}`)
                .join('\n'),
        )
      })
    })
  storeOptions(keys.command('revoke <id>').description('revoke a key (every replica refuses it at once with Redis)'))
    .option('--json', 'machine-readable output')
    .action(async (keyId: string, opts: Record<string, unknown>) => {
      await withDirectory(storeConfigOrExit(opts, env), async (d, _store, audit) => {
        const revoked = await d.revokeKey(keyId)
        if (!revoked) exitWith(`no key ${keyId}`)
        audit?.write({ event: 'key_revoked', object: revoked.memberId, key_id: revoked.id, key_label: revoked.label })
        print(opts['json'] === true, keyJson(revoked), `revoked ${keyId}`)
      })
    })
}
