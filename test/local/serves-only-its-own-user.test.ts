// Local mode acts as the OS user who runs it, so another account on the same machine (a jump
// host, a shared CI runner) must not be able to use it: not the API (the owner's stacks), not
// /-/login (replacing the owner's stored token with its own), not /-/ and POST /-/logout
// (deleting it). These tests create a real second OS user and run real curl as that user.
import { spawnSync } from 'node:child_process'
import { chmod, mkdir, mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'ava'
import { createApp } from '../../src/app.js'
import { loadConfig } from '../../src/config/load.js'
import { startOAuthProxy, loginThroughProxy, storedToken } from '../helpers/oauth-login.js'
import { startSim } from '../helpers/oauth-sim.js'
import { createOsUser, curlAs, IS_ROOT, NOT_ROOT_REASON, removeOsUser, type OsUser } from '../helpers/os-user.js'
import { memoryLog, startProxy } from '../helpers/proxy.js'
import { SIM_TOKEN } from '../helpers/safety-harness.js'

const asRoot = IS_ROOT ? test : test.skip
const title = (what: string) => (IS_ROOT ? what : `${what} (skipped: ${NOT_ROOT_REASON})`)

const apiCalls = (sim: { requests: ReadonlyArray<{ url: string }> }) => sim.requests.filter((r) => r.url.startsWith('/api/3/')).length

function errorCode(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { error?: string }).error
  } catch {
    return undefined
  }
}

/** One second account for the whole file, removed when the file ends. */
let other: OsUser | undefined
test.before(async () => {
  if (IS_ROOT) other = await createOsUser()
})
test.after.always(() => removeOsUser(other))
const otherUser = (): OsUser => {
  if (other === undefined) throw new Error('no second OS user')
  return other
}

asRoot(title('another OS user gets 403 foreign_user from the API and from every page, and changes nothing; the owner is served'), async (t) => {
  const other = otherUser()
  const sim = await startSim(t)
  const proxy = await startOAuthProxy(t, sim)
  await loginThroughProxy(proxy, sim)
  const ownerToken = (await storedToken(proxy))?.accessToken.reveal()
  t.truthy(ownerToken)
  const before = apiCalls(sim)

  const attempts: Array<[string, string[]]> = [
    ['the API', [`${proxy.url}/stacks.json`]],
    ['the status page', [`${proxy.url}/-/`]],
    ['a login', [`${proxy.url}/-/login`]],
    ['a callback', [`${proxy.url}/-/callback?code=attacker-code&state=guessed`]],
    ['a logout', ['-X', 'POST', '-H', 'cookie: c66p_csrf=x', '--data', 'csrf=x', `${proxy.url}/-/logout`]],
    ['a write', ['-X', 'POST', '--data', '{}', '-H', 'content-type: application/json', `${proxy.url}/stacks/abc/deployments.json`]],
    ['the health check', [`${proxy.url}/-/healthz`]],
    ['the metrics', [`${proxy.url}/-/metrics`]],
  ]
  for (const [what, args] of attempts) {
    const res = await curlAs(other.name, args)
    t.is(res.exit, 0, `${what}: curl ran (${res.stderr})`)
    t.is(res.status, 403, `${what}: 403`)
    t.is(errorCode(res.body), 'foreign_user', `${what}: ${res.body}`)
    t.false(res.body.includes('csrf'), `${what}: no form value leaks`)
  }
  t.is(apiCalls(sim), before, 'nothing reached Cloud 66 for the other user')
  t.is((await storedToken(proxy))?.accessToken.reveal(), ownerToken, "the owner's token is still stored, unchanged")

  // The owner, through curl as well (a separate process of the same user) and in-process.
  const own = await curlAs(undefined, [`${proxy.url}/stacks.json`])
  t.is(own.status, 200, own.body)
  t.is((await fetch(`${proxy.url}/-/`)).status, 200)
})

asRoot(title('--allow-users shares the proxy with a named user, and only with them'), async (t) => {
  const other = otherUser()
  const sim = await startSim(t)
  const shared = await startProxy(t, { upstream: sim.url, flags: { allowUsers: other.name }, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  const res = await curlAs(other.name, [`${shared.url}/stacks.json`])
  t.is(res.status, 200, res.body)
  const byUid = await startProxy(t, { upstream: sim.url, flags: { allowUsers: String(other.uid) }, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  t.is((await curlAs(other.name, [`${byUid.url}/stacks.json`])).status, 200, 'a uid works as well as a name')
  t.is((await curlAs(undefined, [`${shared.url}/stacks.json`])).status, 200, 'the owner still is')
  // nobody (65534) exists on Debian and was not named.
  t.is((await curlAs('nobody', [`${shared.url}/stacks.json`])).status, 403)
})

asRoot(title('over IPv6 loopback another user is refused the same way'), async (t) => {
  const other = otherUser()
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, flags: { listen: '[::1]:0' }, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  const url = `http://[::1]:${proxy.port}/stacks.json`
  const res = await curlAs(other.name, [url])
  t.is(res.status, 403)
  t.is(errorCode(res.body), 'foreign_user')
  t.is((await curlAs(undefined, [url])).status, 200)
})

test('an unknown --allow-users entry is a configuration error, not a silent no-op', (t) => {
  const err = t.throws(() => loadConfig({ flags: { allowUsers: 'no-such-user-c66x,4294967296' }, env: { HOME: '/nonexistent' } }))
  t.regex(err?.message ?? '', /"no-such-user-c66x" is not a user of this machine/)
  t.regex(err?.message ?? '', /"4294967296" is not a user of this machine/)
})

asRoot(title('--listen unix:/path serves its owner through a 0600 socket in a 0700 directory, which another user cannot open'), async (t) => {
  const other = otherUser()
  const sim = await startSim(t)
  const base = await mkdtemp(join(tmpdir(), 'c66-sock-'))
  t.teardown(() => rm(base, { recursive: true, force: true }))
  // A directory that does not exist yet is made 0700.
  const socket = join(base, 'run', 'c66-proxy.sock')
  const proxy = await startProxy(t, { upstream: sim.url, flags: { listen: `unix:${socket}` }, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  t.is((await stat(socket)).mode & 0o777, 0o600)
  t.is((await stat(join(base, 'run'))).mode & 0o777, 0o700)

  const own = await curlAs(undefined, ['--unix-socket', socket, 'http://localhost/stacks.json'])
  t.is(own.status, 200, own.body)
  t.is((await curlAs(undefined, ['--unix-socket', socket, 'http://localhost/-/'])).status, 200)

  // Even with the directories opened up, the socket's own mode keeps the other user out.
  await chmod(base, 0o755)
  await chmod(join(base, 'run'), 0o755)
  const theirs = await curlAs(other.name, ['--unix-socket', socket, 'http://localhost/stacks.json'])
  t.is(theirs.exit, 7, `curl could not connect: ${theirs.stderr}`)
  t.regex(theirs.stderr, /Permission denied|Couldn't connect|Failed to connect/i)
  await chmod(join(base, 'run'), 0o700)

  await proxy.app.close()
  await t.throwsAsync(stat(socket), { code: 'ENOENT' }, 'the socket is removed on shutdown')
})

test('a unix socket in a directory others can enter, or over a file, is refused at start-up; a stale socket is replaced', async (t) => {
  const sim = await startSim(t)
  const base = await mkdtemp(join(tmpdir(), 'c66-sock-'))
  t.teardown(() => rm(base, { recursive: true, force: true }))
  const open = join(base, 'open')
  await mkdir(open, { mode: 0o755 })
  await chmod(open, 0o755)
  const start = async (listen: string) => {
    const config = loadConfig({
      flags: { listen, upstream: sim.url.origin, dataDir: join(base, 'data') },
      env: { HOME: '/nonexistent', CLOUD66_ACCESS_TOKEN: SIM_TOKEN },
    })
    const app = await createApp(config, { log: memoryLog('silent').log })
    t.teardown(() => app.close())
    return app
  }
  const inOpenDir = await start(`unix:${join(open, 'sock')}`)
  const err = await t.throwsAsync(inOpenDir.listen())
  t.regex(err?.message ?? '', /can be entered by other users \(mode 755\)/)

  const { writeFile } = await import('node:fs/promises')
  await writeFile(join(base, 'file'), 'keep me')
  const overFile = await start(`unix:${join(base, 'file')}`)
  const err2 = await t.throwsAsync(overFile.listen())
  t.regex(err2?.message ?? '', /exists and is not a socket/)

  // A proxy killed with SIGKILL leaves its socket behind; nothing answers on it, so it is replaced.
  const stale = join(base, 'stale.sock')
  spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`])
  t.true((await stat(stale)).isSocket(), 'the killed process left its socket')
  const replacing = await start(`unix:${stale}`)
  await replacing.listen()
  const res = await curlAs(undefined, ['--unix-socket', stale, 'http://localhost/stacks.json'])
  t.is(res.status, 200, res.body)

  // One something still answers on is not taken over.
  const path = join(base, 'live.sock')
  const first = await start(`unix:${path}`)
  await first.listen()
  const second = await start(`unix:${path}`)
  await t.throwsAsync(second.listen(), { code: 'EADDRINUSE' })
  t.is((await stat(path)).mode & 0o777, 0o600, "the live proxy's socket was left alone")
})

test('a unix socket is a local-mode setting; its path must fit a socket address', (t) => {
  const gateway = t.throws(() => loadConfig({ flags: { mode: 'gateway', listen: 'unix:/run/c66.sock' }, env: { HOME: '/nonexistent' } }))
  t.regex(gateway?.message ?? '', /unix:\/PATH is for local mode/)
  const long = t.throws(() => loadConfig({ flags: { listen: `unix:/tmp/${'x'.repeat(120)}` }, env: { HOME: '/nonexistent' } }))
  t.regex(long?.message ?? '', /longer than 107 bytes/)
})
