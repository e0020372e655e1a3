import test, { type ExecutionContext } from 'ava'
import { ALL_SCOPES } from '../../src/simulator/index.js'
import { runCli, type CliResult } from '../helpers/cli.js'
import { errorCode, gwRequest, startGateway, startGatewaySim, type StartedGateway } from '../helpers/gateway.js'
import { until } from '../helpers/wait.js'

// Operators manage members and keys with the built CLI, working directly on the gateway's store
// (here the file store in its data directory) while the gateway runs: every command takes --json,
// and a running gateway follows what the CLI changed.

const PAT = 'ci-pat-4f0c1a9e7b2d48d6a3c5e9f1b7d2a6c8'

function cli(gw: StartedGateway, args: readonly string[], input?: string): Promise<CliResult> {
  return runCli([...args, ...gw.cliArgs], gw.cliEnv(), input)
}

function parsed<T>(t: ExecutionContext, result: CliResult): T {
  t.is(result.code, 0, result.stderr)
  return JSON.parse(result.stdout) as T
}

interface MemberRow {
  readonly id: string
  readonly kind: string
  readonly token: string
}

interface KeyRow {
  readonly id: string
  readonly member: string
  readonly label: string
  readonly read_only: boolean
  readonly revoked_at: string | null
}

test('a bot added with members add-token gets a key from keys create that works through the running gateway', async (t) => {
  const sim = await startGatewaySim(t, { tokens: { [PAT]: ALL_SCOPES } })
  const gw = await startGateway(t, { upstream: sim.url })

  const added = parsed<{ member: string; fingerprint: string }>(t, await cli(gw, ['members', 'add-token', 'ci', '--json'], `${PAT}\n`))
  t.is(added.member, 'service:ci')
  t.regex(added.fingerprint, /^sha256:/)

  const members = parsed<MemberRow[]>(t, await cli(gw, ['members', 'list', '--json']))
  t.deepEqual(
    members.map((m) => [m.id, m.kind, m.token]),
    [['service:ci', 'service', 'linked']],
  )

  const created = parsed<Record<string, string>>(t, await cli(gw, ['keys', 'create', '--member', 'ci', '--label', 'github', '--json']))
  t.deepEqual(Object.keys(created).sort(), ['id', 'key'])
  t.regex(created['key'] ?? '', /^c66p_[A-Za-z0-9_-]{43}$/)

  const before = sim.requests.length
  const res = await gwRequest(gw, '/stacks.json', { bearer: created['key'] ?? '' })
  t.is(res.status, 200, res.body)
  t.deepEqual(
    sim.requests.slice(before).map((r) => r.token),
    [PAT],
  )

  const listed = await cli(gw, ['keys', 'list', '--json'])
  const keys = parsed<KeyRow[]>(t, listed)
  t.deepEqual(
    keys.map((k) => [k.id, k.member, k.label, k.revoked_at]),
    [[created['id'], 'service:ci', 'github', null]],
  )
  t.false(listed.stdout.includes(created['key'] ?? 'no key'))
  t.deepEqual(
    parsed<KeyRow[]>(t, await cli(gw, ['keys', 'list', '--member', 'ci', '--json'])).map((k) => k.id),
    [created['id']],
  )
  t.deepEqual(parsed<KeyRow[]>(t, await cli(gw, ['keys', 'list', '--member', 'someone-else', '--json'])), [])
})

test('keys revoke on the command line makes the running gateway refuse the key', async (t) => {
  const sim = await startGatewaySim(t, { tokens: { [PAT]: ALL_SCOPES } })
  const gw = await startGateway(t, { upstream: sim.url })
  t.is((await cli(gw, ['members', 'add-token', 'ci'], PAT)).code, 0)
  const { id, key } = parsed<{ id: string; key: string }>(t, await cli(gw, ['keys', 'create', '--member', 'ci', '--json']))
  t.is((await gwRequest(gw, '/stacks.json', { bearer: key })).status, 200)

  const revoked = parsed<KeyRow>(t, await cli(gw, ['keys', 'revoke', id, '--json']))
  t.is(revoked.id, id)
  t.truthy(revoked.revoked_at)
  // The gateway re-reads its cache from the file store; wait for the refusal, with a safety timeout.
  const refused = await until('the gateway to refuse the revoked key', async () => {
    const res = await gwRequest(gw, '/stacks.json', { bearer: key })
    return res.status === 401 ? res : undefined
  })
  t.is(errorCode(refused), 'invalid_key')
})

test("members remove on the command line revokes the bot's keys and deletes its token", async (t) => {
  const sim = await startGatewaySim(t, { tokens: { [PAT]: ALL_SCOPES } })
  const gw = await startGateway(t, { upstream: sim.url })
  t.is((await cli(gw, ['members', 'add-token', 'ci'], PAT)).code, 0)
  const { key } = parsed<{ id: string; key: string }>(t, await cli(gw, ['keys', 'create', '--member', 'ci', '--json']))
  t.is((await gwRequest(gw, '/stacks.json', { bearer: key })).status, 200)

  t.deepEqual(parsed(t, await cli(gw, ['members', 'remove', 'ci', '--json'])), { removed: 'service:ci' })
  t.deepEqual(parsed(t, await cli(gw, ['members', 'list', '--json'])), [])
  t.true(parsed<KeyRow[]>(t, await cli(gw, ['keys', 'list', '--json'])).every((k) => k.revoked_at !== null))
  t.is(await gw.store.getToken('service:ci'), undefined)
  await until('the gateway to refuse the removed bot', async () => ((await gwRequest(gw, '/stacks.json', { bearer: key })).status === 401 ? true : undefined))
  t.not((await cli(gw, ['members', 'remove', 'ci'])).code, 0, 'removing it again is an error')
})

test('keys create --read-only makes a key the gateway holds to GET and HEAD', async (t) => {
  const sim = await startGatewaySim(t, { tokens: { [PAT]: ALL_SCOPES } })
  const gw = await startGateway(t, { upstream: sim.url })
  t.is((await cli(gw, ['members', 'add-token', 'ci'], PAT)).code, 0)
  const { id, key } = parsed<{ id: string; key: string }>(t, await cli(gw, ['keys', 'create', '--member', 'ci', '--read-only', '--expires', '1d', '--json']))
  t.true(parsed<KeyRow[]>(t, await cli(gw, ['keys', 'list', '--json'])).find((k) => k.id === id)?.read_only)
  t.is((await gwRequest(gw, '/api/3/echo', { bearer: key })).status, 200)
  const before = sim.requests.length
  const post = await gwRequest(gw, '/api/3/echo', { bearer: key, json: {} })
  t.is(post.status, 403)
  t.is(errorCode(post), 'read_only_key')
  t.is(sim.requests.length, before)
})

test('the commands refuse what they cannot do, and never print the token they were given', async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url })
  const noMember = await cli(gw, ['keys', 'create', '--member', 'nobody', '--json'])
  t.not(noMember.code, 0)
  t.regex(noMember.stderr, /no member service:nobody/)
  t.not((await cli(gw, ['keys', 'revoke', 'key_doesnotexist'])).code, 0)
  t.not((await cli(gw, ['members', 'add-token', 'ci'], '')).code, 0, 'an empty token is refused')
  const added = await cli(gw, ['members', 'add-token', 'ci'], PAT)
  t.is(added.code, 0, added.stderr)
  t.false((added.stdout + added.stderr).includes(PAT))
  const listed = await cli(gw, ['members', 'list'])
  t.false((listed.stdout + listed.stderr).includes(PAT))
})
