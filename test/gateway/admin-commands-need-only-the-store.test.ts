import test from 'ava'
import { ALL_SCOPES } from '../../src/simulator/index.js'
import { runCli } from '../helpers/cli.js'
import { gwRequest, startGateway, startGatewaySim } from '../helpers/gateway.js'

// Issue 10, finding 7: `c66-proxy members list` with C66_PROXY_STORE, C66_PROXY_SECRET and
// C66_PROXY_MODE=gateway exited 2 asking for the OAuth client secret (and, with a TLS front,
// for --trusted-proxies): the admin commands validated every serving setting. They now read only
// the store's settings and the secret, and their --help lists only what they read.

const PAT = 'bot-pat-7d2e4c6a8b0f1e3d5c7a9b1d3f5e7a9c'

test('finding 7: members and keys commands run from a bastion with only the store, the secret and gateway mode', async (t) => {
  const sim = await startGatewaySim(t, { tokens: { [PAT]: ALL_SCOPES } })
  const gw = await startGateway(t, { upstream: sim.url })
  // What an operator's shell has: no OAuth client, no TLS files, no trusted proxies, but the
  // gateway's own mode (and a setting that in `serve` would need --trusted-proxies too).
  const env = gw.cliEnv({
    C66_PROXY_MODE: 'gateway',
    C66_PROXY_DATA_DIR: gw.dataDir,
    C66_PROXY_STORE: 'file',
    C66_PROXY_TRUSTED_IDENTITY_HEADER: 'X-Forwarded-Email',
  })
  const added = await runCli(['members', 'add-token', 'deploy', '--json'], env, PAT)
  t.is(added.code, 0, added.stderr)
  const listed = await runCli(['members', 'list', '--json'], env)
  t.is(listed.code, 0, listed.stderr)
  t.deepEqual(
    (JSON.parse(listed.stdout) as Array<{ id: string }>).map((m) => m.id),
    ['service:deploy'],
  )
  const created = await runCli(['keys', 'create', '--member', 'deploy', '--read-only', '--json'], env)
  t.is(created.code, 0, created.stderr)
  const { id, key } = JSON.parse(created.stdout) as { id: string; key: string }
  t.is((await gwRequest(gw, '/stacks.json', { bearer: key })).status, 200)
  t.is((await runCli(['keys', 'revoke', id], env)).code, 0)
  // A missing secret is still an error: the store cannot be opened without it.
  const noSecret = await runCli(['members', 'list'], { ...env, C66_PROXY_SECRET: undefined })
  t.not(noSecret.code, 0)
  t.regex(noSecret.stderr, /C66_PROXY_SECRET/)
})

test("finding 7: each admin command's --help lists only the options it reads", async (t) => {
  for (const command of [
    ['keys', 'create'],
    ['keys', 'list'],
    ['keys', 'revoke'],
    ['members', 'list'],
    ['members', 'add-token'],
    ['members', 'remove'],
  ]) {
    const help = await runCli([...command, '--help'])
    t.is(help.code, 0, help.stderr)
    for (const serving of ['--upstream', '--client-id', '--listen', '--tls-cert', '--trusted-proxies', '--member-rate', '--deny-path']) {
      t.false(new RegExp(`${serving}(?![-\\w])`).test(help.stdout), `${command.join(' ')} --help offers ${serving}`)
    }
    for (const store of ['--store', '--data-dir', '--mode']) t.true(help.stdout.includes(store), `${command.join(' ')} --help lacks ${store}`)
    t.true(help.stdout.split('\n').length < 40, `${command.join(' ')} --help has ${help.stdout.split('\n').length} lines`)
  }
})
