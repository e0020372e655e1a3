import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import test, { type ExecutionContext } from 'ava'
import type { Simulator } from '../../src/simulator/index.js'
import { runCli } from '../helpers/cli.js'
import { createKey, gwRequest, loginMember, memberToken, startGateway, startGatewaySim, type StartedGateway } from '../helpers/gateway.js'
import { until } from '../helpers/wait.js'

// Every mutating request through the gateway writes one MAC-chained JSON line: who (member, key
// label and id, never the key), what (method, route template, stack), how it went (status,
// duration) and the request id. `c66-proxy audit verify` finds a deleted or edited line.
// Management actions (logins, keys created) are lines of their own, with other events.

type AuditLine = Record<string, unknown>

function allLines(gw: StartedGateway): string[] {
  if (!existsSync(gw.auditLog)) return []
  return readFileSync(gw.auditLog, 'utf8').split('\n').filter(Boolean)
}

/** The lines of requests (the log also holds logins and key changes). */
function auditLines(gw: StartedGateway): string[] {
  return allLines(gw).filter((l) => (JSON.parse(l) as AuditLine)['event'] === 'request')
}

/** Waits (polling the file, with a safety timeout) until the audit log holds a line for `requestId`. */
function lineFor(gw: StartedGateway, requestId: string): Promise<AuditLine> {
  return until(`an audit line for ${requestId}`, async () =>
    auditLines(gw)
      .map((l) => JSON.parse(l) as AuditLine)
      .find((r) => r['request_id'] === requestId),
  )
}

async function started(t: ExecutionContext, flags: Record<string, unknown> = {}): Promise<{ sim: Simulator; gw: StartedGateway; cookie: string; uid: string }> {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url, flags: { scopes: 'public redeploy', ...flags } })
  const { cookie } = await loginMember(t, gw, sim, 1)
  const probe = await createKey(gw, cookie, { label: 'probe' })
  const uid = (await gwRequest(gw, '/stacks.json', { bearer: probe.key })).json<{ response: Array<{ uid: string }> }>().response[0]?.uid ?? ''
  return { sim, gw, cookie, uid }
}

test('a POST through a key writes one audit line with who, what, where, how and the request id, never the key', async (t) => {
  const { gw, cookie, uid } = await started(t)
  const { id, key } = await createKey(gw, cookie, { label: 'deploy-bot' })
  const res = await gwRequest(gw, `/api/3/stacks/${uid}/deployments.json`, { bearer: key, json: {}, headers: { 'x-request-id': 'audit-post-1' } })
  t.is(res.status, 200, res.body)
  const line = await lineFor(gw, 'audit-post-1')
  t.like(line, {
    v: 2,
    event: 'request',
    replica: 'gw-test',
    member: 'cloud66:1',
    client: '127.0.0.1',
    key_label: 'deploy-bot',
    key_id: id,
    method: 'POST',
    route: '/stacks/:id/deployments',
    stack_id: uid,
    status: 200,
    request_id: 'audit-post-1',
  })
  // It follows the login and key lines before it in this replica's chain.
  t.true((line['seq'] as number) > 1)
  t.regex(String(line['prev']), /^[0-9a-f]{64}$/)
  t.true(Number.isFinite(Date.parse(String(line['time']))), String(line['time']))
  t.is(typeof line['duration_ms'], 'number')
  t.true((line['duration_ms'] as number) >= 0)
  t.regex(String(line['mac']), /^[0-9a-f]{64}$/)
  const text = readFileSync(gw.auditLog, 'utf8')
  t.false(text.includes(key))
  t.false(text.includes(key.slice('c66p_'.length)))
  t.false(text.includes((await memberToken(gw, 'cloud66:1')) ?? 'no token'))
  t.is(auditLines(gw).length, 1, 'the GET of the stack list wrote nothing')
})

test('a GET writes no audit line by default', async (t) => {
  const { gw, cookie, uid } = await started(t)
  const { key } = await createKey(gw, cookie)
  t.is((await gwRequest(gw, `/api/3/stacks/${uid}.json`, { bearer: key, headers: { 'x-request-id': 'audit-get' } })).status, 200)
  t.is((await gwRequest(gw, '/api/3/echo', { method: 'DELETE', bearer: key, headers: { 'x-request-id': 'audit-delete' } })).status, 200)
  // The DELETE came after the GET: once its line is there, a line for the GET would be too.
  await lineFor(gw, 'audit-delete')
  t.deepEqual(
    auditLines(gw).map((l) => (JSON.parse(l) as AuditLine)['request_id']),
    ['audit-delete'],
  )
})

test('with --audit-all a GET writes its line too', async (t) => {
  const { gw, cookie, uid } = await started(t, { auditAll: true })
  const { id, key } = await createKey(gw, cookie, { label: 'reader' })
  t.is((await gwRequest(gw, `/stacks/${uid}/servers.json`, { bearer: key, headers: { 'x-request-id': 'audit-all-get' } })).status, 200)
  t.like(await lineFor(gw, 'audit-all-get'), { method: 'GET', route: '/stacks/:id/servers', stack_id: uid, key_id: id, key_label: 'reader', status: 200 })
})

test('a mutating request the gateway refuses is audited with its refusal status', async (t) => {
  const { sim, gw, cookie, uid } = await started(t)
  const { key } = await createKey(gw, cookie, { label: 'read-only', read_only: true })
  const before = sim.requests.length
  const res = await gwRequest(gw, `/api/3/stacks/${uid}/deployments`, { bearer: key, json: {}, headers: { 'x-request-id': 'audit-refused' } })
  t.is(res.status, 403)
  t.is(sim.requests.length, before)
  t.like(await lineFor(gw, 'audit-refused'), { method: 'POST', status: 403, key_label: 'read-only', member: 'cloud66:1', stack_id: uid })
})

test('`audit verify` exits 0 for an intact log and 1 naming the first broken line after a deletion or an edit', async (t) => {
  const { gw, cookie, uid } = await started(t)
  const { key } = await createKey(gw, cookie)
  for (let i = 1; i <= 3; i += 1) {
    t.is((await gwRequest(gw, `/api/3/stacks/${uid}/deployments`, { bearer: key, json: {}, headers: { 'x-request-id': `audit-chain-${i}` } })).status, 200)
    await lineFor(gw, `audit-chain-${i}`)
  }
  const requests = auditLines(gw)
  t.is(requests.length, 3)
  const intact = allLines(gw)
  const at = (line: string) => intact.indexOf(line) + 1
  const second = requests[1] ?? ''

  const ok = await runCli(['audit', 'verify', gw.auditLog], gw.cliEnv())
  t.is(ok.code, 0, ok.stdout + ok.stderr)

  // Deleting the second request's line: the chain breaks at the line that followed it.
  writeFileSync(
    gw.auditLog,
    intact
      .filter((l) => l !== second)
      .map((l) => `${l}\n`)
      .join(''),
  )
  const deleted = await runCli(['audit', 'verify', gw.auditLog], gw.cliEnv())
  t.is(deleted.code, 1, deleted.stdout + deleted.stderr)
  t.regex(deleted.stdout, new RegExp(`\\bline ${at(second)}\\b`))

  const edited = second.replace('"status":200', '"status":201')
  t.not(edited, second)
  writeFileSync(gw.auditLog, intact.map((l) => `${l === second ? edited : l}\n`).join(''))
  const changed = await runCli(['audit', 'verify', gw.auditLog], gw.cliEnv())
  t.is(changed.code, 1, changed.stdout + changed.stderr)
  t.regex(changed.stdout, new RegExp(`\\bline ${at(second)}\\b`))
})
