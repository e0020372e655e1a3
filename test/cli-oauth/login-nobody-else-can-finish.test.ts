// `c66-proxy login` opens the browser. Before, the opener got the authorization URL in its argv,
// where any account on the machine reads it (/proc/PID/cmdline): state, PKCE challenge and
// redirect URI. That account then approved as itself and called the one-shot listener first, and
// the CLI stored the attacker's token. The opener also inherited the whole environment.
//
// Here the opener is a stand-in xdg-open first on PATH (the real one would start a desktop
// browser) that records what it was given and stays alive while another OS user looks.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import test from 'ava'
import { cleanEnv } from '../helpers/cli.js'
import { cliSession, dataDir, readStoredToken } from '../helpers/cli-session.js'
import { closedPort } from '../helpers/forwarding.js'
import { answerConsent } from '../helpers/oauth-login.js'
import { CLIENT_ID, CLIENT_SECRET, startSim } from '../helpers/oauth-sim.js'
import { createOsUser, IS_ROOT, NOT_ROOT_REASON, removeOsUser, type OsUser } from '../helpers/os-user.js'
import { until } from '../helpers/wait.js'

let other: OsUser | undefined
test.before(async () => {
  if (IS_ROOT) other = await createOsUser()
})
test.after.always(() => removeOsUser(other))

/** A fake xdg-open in a directory of its own; what it records lands in `record.*`. */
async function fakeOpener(t: Parameters<typeof dataDir>[0]): Promise<{ bin: string; record: (what: string) => Promise<string> }> {
  const bin = await mkdtemp(join(tmpdir(), 'c66-opener-'))
  await chmod(bin, 0o755)
  t.teardown(async () => {
    const pid = await readFile(join(bin, 'record.pid'), 'utf8').catch(() => '')
    if (pid !== '') {
      try {
        process.kill(Number(pid), 'SIGKILL')
      } catch {
        // already gone
      }
    }
    await rm(bin, { recursive: true, force: true })
  })
  const out = join(bin, 'record')
  const script = `#!/bin/sh
env > ${out}.env
printf '%s' "$*" > ${out}.args
cat "$(printf '%s' "$1" | sed 's|^file://||')" > ${out}.page 2>/dev/null
echo $$ > ${out}.pid
sleep 30
`
  await writeFile(join(bin, 'xdg-open'), script, { mode: 0o755 })
  return { bin, record: (what) => readFile(`${out}.${what}`, 'utf8') }
}

/** Every process's command line, as `user` sees them (undefined: this process's user). */
function commandLines(user: string | undefined): Promise<string> {
  const script = "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < \"$f\" 2>/dev/null; echo; done"
  const [cmd, ...args] = user === undefined ? ['sh', '-c', script] : ['runuser', '-u', user, '--', 'sh', '-c', script]
  return new Promise((resolve, reject) => {
    const child = spawn(cmd ?? 'sh', args, { stdio: ['ignore', 'pipe', 'ignore'] })
    let out = ''
    child.stdout.on('data', (c: Buffer) => (out += c.toString()))
    child.on('error', reject)
    child.on('close', () => resolve(out))
  })
}

const CANARIES = {
  CLOUD66_ACCESS_TOKEN: `canary-access-${randomBytes(6).toString('hex')}`,
  C66_CLIENT_SECRET: CLIENT_SECRET,
  C66_PROXY_SECRET: randomBytes(32).toString('base64url'),
  SOME_OTHER_SECRET: `canary-other-${randomBytes(6).toString('hex')}`,
}

test('the authorization URL is on no command line, the opener gets a minimal environment, and a callback without the secret ends nothing', async (t) => {
  const sim = await startSim(t)
  const dir = await dataDir(t)
  const port = await closedPort()
  const opener = await fakeOpener(t)
  const env = cleanEnv({ ...CANARIES, PATH: `${opener.bin}:${process.env['PATH'] ?? '/usr/bin:/bin'}`, DISPLAY: ':0' })
  const cli = cliSession(t, ['login', '--listen', `127.0.0.1:${port}`, '--upstream', sim.url.origin, '--client-id', CLIENT_ID, '--data-dir', dir], env)
  const printed = new URL((await cli.waitFor(/(http:\/\/\S+\/oauth\/authorize\?\S+)/))[1] ?? '')
  const state = printed.searchParams.get('state') ?? ''
  const challenge = printed.searchParams.get('code_challenge') ?? ''
  const secret = new URL(printed.searchParams.get('redirect_uri') ?? '').searchParams.get('k') ?? ''
  t.true(state.length > 0 && challenge.length > 0 && secret.length > 0)
  await until('the opener ran', async () => ((await opener.record('pid').catch(() => '')) !== '' ? true : undefined))

  // What the opener was given: a file: URL, whose page sends the browser on to the authorize URL.
  const arg = await opener.record('args')
  t.regex(arg, /^file:\/\/\/.+\/login\.html$/)
  t.false(arg.includes(state))
  const page = await opener.record('page')
  t.true(page.includes(printed.href.replace(/&/g, '&amp;')), 'the hand-off page holds the authorize URL')
  const handOff = fileURLToPath(arg)
  t.is((await stat(handOff)).mode & 0o777, 0o600)
  t.is((await stat(join(handOff, '..'))).mode & 0o777, 0o700)

  // The opener's environment: the desktop's, nothing of the shell's secrets.
  const openerEnv = await opener.record('env')
  t.regex(openerEnv, /^DISPLAY=:0$/m)
  t.regex(openerEnv, /^PATH=/m)
  for (const [name, value] of Object.entries(CANARIES)) {
    t.false(openerEnv.includes(value), `${name} did not reach the opener`)
    t.false(new RegExp(`^${name}=`, 'm').test(openerEnv), `${name} is not set for the opener`)
  }

  // No command line on the machine shows the state, the challenge or the secret: not as root, and
  // not as another account (which is what the attack needs).
  for (const who of [undefined, other?.name]) {
    if (who === undefined && other === undefined && !IS_ROOT) continue
    const lines = await commandLines(who)
    t.true(lines.includes('xdg-open'), `the opener is running and visible (${who ?? 'this user'})`)
    for (const [what, value] of [
      ['state', state],
      ['code_challenge', challenge],
      ['k', secret],
    ] as const) {
      t.false(lines.includes(value), `${what} is on no command line (${who ?? 'this user'})`)
    }
  }
  const second = other
  if (second !== undefined) {
    const read = await new Promise<number | null>((resolve) =>
      spawn('runuser', ['-u', second.name, '--', 'cat', handOff], { stdio: 'ignore' }).on('close', resolve),
    )
    t.not(read, 0, 'another user cannot read the hand-off page')
  } else t.log(`the second-user part is skipped: ${NOT_ROOT_REASON}`)

  // Someone who approved as themselves and races to the listener: without k, nothing happens,
  // even knowing the state.
  const theirs = await answerConsent(sim, printed, 'Authorize', { user_id: '2' })
  const noSecret = new URL(theirs.location)
  noSecret.searchParams.delete('k')
  t.is((await fetch(noSecret)).status, 404)
  noSecret.searchParams.set('k', 'x'.repeat(secret.length))
  t.is((await fetch(noSecret)).status, 404)
  t.is(sim.oauthCalls.token, 0, 'nothing was redeemed')

  // The owner's browser completes the login.
  const mine = await answerConsent(sim, printed, 'Authorize', { user_id: '1' })
  t.is((await fetch(mine.location)).status, 200)
  const { code } = await cli.exited
  t.is(code, 0, cli.stderr())
  t.regex(cli.stdout(), /as Cloud 66 user 1 /)
  t.is(sim.userOf((await readStoredToken(dir, { C66_PROXY_SECRET: CANARIES.C66_PROXY_SECRET }))?.accessToken.reveal() ?? ''), 1, "the owner's token is stored")
  await t.throwsAsync(stat(handOff), { code: 'ENOENT' }, 'the hand-off page is removed once the login is over')
  t.false((await readdir(tmpdir())).some((n) => join(tmpdir(), n) === join(handOff, '..')))
})

test('--oob opens the browser the same way, and removes the page once the code is pasted', async (t) => {
  const sim = await startSim(t)
  const dir = await dataDir(t)
  const opener = await fakeOpener(t)
  const env = cleanEnv({
    ...CANARIES,
    PATH: `${opener.bin}:${process.env['PATH'] ?? '/usr/bin:/bin'}`,
    C66_PROXY_UPSTREAM: sim.url.origin,
    C66_PROXY_DATA_DIR: dir,
  })
  const cli = cliSession(t, ['login', '--oob', '--client-id', CLIENT_ID], env)
  const printed = new URL((await cli.waitFor(/(http:\/\/\S+\/oauth\/authorize\?\S+)/))[1] ?? '')
  await until('the opener ran', async () => ((await opener.record('pid').catch(() => '')) !== '' ? true : undefined))
  const arg = await opener.record('args')
  t.false(arg.includes(printed.searchParams.get('state') ?? '-'))
  const openerEnv = await opener.record('env')
  for (const value of Object.values(CANARIES)) t.false(openerEnv.includes(value))
  const consent = await answerConsent(sim, printed, 'Authorize')
  const code = consent.location.searchParams.get('code') ?? ''
  cli.child.stdin.end(`${code}\n`)
  t.is((await cli.exited).code, 0, cli.stderr())
  await t.throwsAsync(stat(fileURLToPath(arg)), { code: 'ENOENT' })
})
