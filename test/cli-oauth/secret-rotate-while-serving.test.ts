// Issue 14, finding 5: `secret rotate` run while the proxy serves (local mode, the generated key
// file). Before, the server kept sealing with the retired key, so its next login was stored under
// a key nobody had any more, and it could not open what the rotation had re-sealed (/-/login 500).
// The server now follows the key file: it opens records sealed under either key during the
// switch and seals with the new one.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import test from 'ava'
import { generateSecret } from '../../src/store/keys.js'
import { runCli } from '../helpers/cli.js'
import { loginThroughProxy, startOAuthProxy, storedToken } from '../helpers/oauth-login.js'
import { startSim } from '../helpers/oauth-sim.js'
import { dataDir } from '../helpers/cli-session.js'

async function tokenShown(dir: string): Promise<{ code: number | null; fingerprint: unknown; stderr: string }> {
  const show = await runCli(['token', 'show', '--json', '--data-dir', dir])
  return {
    code: show.code,
    fingerprint: show.code === 0 ? (JSON.parse(show.stdout) as Record<string, unknown>)['fingerprint'] : undefined,
    stderr: show.stderr,
  }
}

test('after `secret rotate`, the running proxy still serves, logs in again, and what it stores opens with the new key alone', async (t) => {
  const sim = await startSim(t)
  const dir = await dataDir(t)
  const proxy = await startOAuthProxy(t, sim, { flags: { dataDir: dir } })
  await loginThroughProxy(proxy, sim)
  t.is((await fetch(`${proxy.url}/stacks.json`)).status, 200)

  const rotate = await runCli(['secret', 'rotate', '--data-dir', dir])
  t.is(rotate.code, 0, rotate.stderr)

  // A new token source makes the proxy read the store again (the re-sealed record).
  proxy.app.tokens.evict('local')
  t.is((await fetch(`${proxy.url}/stacks.json`)).status, 200, 'the re-sealed token opens')
  const again = await loginThroughProxy(proxy, sim)
  t.is(again.callback.res.status, 303, 'a login after the rotation is stored')
  t.is((await fetch(`${proxy.url}/stacks.json`)).status, 200)

  // A new process, which knows only the new key file, reads what the server wrote.
  const shown = await tokenShown(dir)
  t.is(shown.code, 0, shown.stderr)
  t.is(shown.fingerprint, (await storedToken(proxy))?.accessToken.fingerprint)
})

test('a login stored while a rotation is half done is sealed with the key that stays', async (t) => {
  const sim = await startSim(t)
  const dir = await dataDir(t)
  const proxy = await startOAuthProxy(t, sim, { flags: { dataDir: dir } })
  await loginThroughProxy(proxy, sim)
  // What `secret rotate` leaves if it stops after saving the new key and before promoting it.
  await writeFile(join(dir, 'secret.key.next'), `${generateSecret()}\n`, { mode: 0o600 })
  const during = await loginThroughProxy(proxy, sim)
  t.is(during.callback.res.status, 303)
  // The rotation is finished by the next `secret rotate` (promoting secret.key.next), then rotated once more.
  const rotate = await runCli(['secret', 'rotate', '--data-dir', dir])
  t.is(rotate.code, 0, rotate.stderr)
  const shown = await tokenShown(dir)
  t.is(shown.code, 0, shown.stderr)
  t.is(shown.fingerprint, (await storedToken(proxy))?.accessToken.fingerprint)
})
