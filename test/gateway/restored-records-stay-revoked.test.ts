// Issue 14, finding 5: records are sealed under their names, but anyone with write access to the
// gateway's Redis could copy a key's records before its revocation and put them back after: the
// key worked again. Revocations and removals now leave tombstones that are never deleted, and
// records carry versions each replica remembers. Against a real redis-server, with raw writes.
import test, { type ExecutionContext } from 'ava'
import { Redis } from 'ioredis'
import { ALL_SCOPES } from '../../src/simulator/index.js'
import { runCli, type CliResult } from '../helpers/cli.js'
import { errorCode, gwRequest, startGateway, startGatewaySim, type StartedGateway } from '../helpers/gateway.js'
import { startRedis } from '../helpers/redis-server.js'

const PAT = 'restore-pat-0b5e8c1d2a3f4e5d6c7b8a9f0e1d2c3b'

function parsed<T>(t: ExecutionContext, result: CliResult): T {
  t.is(result.code, 0, result.stderr)
  return JSON.parse(result.stdout) as T
}

async function setUp(t: ExecutionContext, flags: Record<string, unknown> = {}) {
  const redis = await startRedis(t)
  const sim = await startGatewaySim(t, { tokens: { [PAT]: ALL_SCOPES } })
  const gw = await startGateway(t, { upstream: sim.url, flags: { store: redis.url, ...flags } })
  const raw = new Redis(redis.url)
  t.teardown(() => raw.quit())
  const env = gw.cliEnv({ C66_PROXY_MODE: 'gateway', C66_PROXY_STORE: redis.url })
  const cli = (args: readonly string[], input?: string) => runCli(args, env, input)
  parsed(t, await cli(['members', 'add-token', 'deploy', '--json'], `${PAT}\n`))
  const key = parsed<{ id: string; key: string }>(t, await cli(['keys', 'create', '--member', 'deploy', '--json']))
  /** Another replica, started now: nothing cached, nothing remembered. */
  const replica = () => startGateway(t, { upstream: sim.url, flags: { store: redis.url, ...flags }, secret: gw.secret })
  return { redis, gw, raw, cli, key, replica }
}

/** Every record as raw bytes: what someone with Redis access can copy and put back. */
async function snapshot(raw: Redis): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>()
  for (const name of await raw.keys('*')) {
    const value = await raw.getBuffer(name).catch(() => null)
    if (value !== null) out.set(name, value)
  }
  return out
}

async function restore(raw: Redis, saved: Map<string, Buffer>): Promise<void> {
  for (const [name, value] of saved) await raw.set(name, value)
}

const status = async (gw: StartedGateway, key: string) => {
  const res = await gwRequest(gw, '/stacks.json', { bearer: key })
  return `${res.status} ${String(errorCode(res) ?? '')}`.trim()
}

test("a revoked key's records put back from before the revocation do not bring it back, on any replica", async (t) => {
  const { gw, raw, cli, key, replica } = await setUp(t)
  t.is(await status(gw, key.key), '200')
  const before = await snapshot(raw)

  t.is((await cli(['keys', 'revoke', key.id])).code, 0)
  t.is(await status(gw, key.key), '401 invalid_key')
  await restore(raw, before)

  t.is(await status(gw, key.key), '401 invalid_key', 'the running replica')
  t.is(await status(await replica(), key.key), '401 invalid_key', 'a replica started after the restore')
  const listed = parsed<Array<{ id: string; revoked_at: string | null }>>(t, await cli(['keys', 'list', '--json']))
  t.not(listed.find((k) => k.id === key.id)?.revoked_at ?? null, null, 'keys list still shows it revoked')
})

test('a running replica refuses an older record even when the tombstone was deleted too', async (t) => {
  // A short outage grace makes the replica re-read the store within a second.
  const { gw, raw, cli, key } = await setUp(t, { storeOutageGrace: '200ms' })
  t.is(await status(gw, key.key), '200')
  const before = await snapshot(raw)
  t.is((await cli(['keys', 'revoke', key.id])).code, 0)
  t.is(await status(gw, key.key), '401 invalid_key', 'the replica has read the revoked record')
  const tombstones = (await raw.keys('*')).filter((n) => n.includes('keyrevoked'))
  t.is(tombstones.length, 1, 'the revocation left a tombstone')
  await raw.del(...tombstones)
  await restore(raw, before)
  await new Promise((resolve) => setTimeout(resolve, 400))
  t.is(await status(gw, key.key), '401 invalid_key')
})

test("a removed member's records put back are not a member again; adding the member anew works", async (t) => {
  const { gw, raw, cli, key, replica } = await setUp(t)
  t.is(await status(gw, key.key), '200')
  const before = await snapshot(raw)
  t.is((await cli(['members', 'remove', 'deploy'])).code, 0)
  await restore(raw, before)

  const fresh = await replica()
  t.is(await status(fresh, key.key), '401 invalid_key')
  t.deepEqual(parsed<unknown[]>(t, await cli(['members', 'list', '--json'])), [], 'members list does not show the restored member')

  // The operator adds the bot again: a new member record, above the removal, with a new key.
  parsed(t, await cli(['members', 'add-token', 'deploy', '--json'], `${PAT}\n`))
  const again = parsed<{ id: string; key: string }>(t, await cli(['keys', 'create', '--member', 'deploy', '--json']))
  t.is(await status(fresh, again.key), '200')
  t.is(await status(gw, again.key), '200')
  t.is(await status(fresh, key.key), '401 invalid_key', 'the old key stays revoked')
})
