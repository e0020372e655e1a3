import { randomUUID } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'ava'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { cloud66TokenValue, tempHome } from '../helpers/token-files.js'

test('check-config prints every problem at once, naming each setting, and exits non-zero', async (t) => {
  const home = tempHome(t)
  const file = join(home.scratch, 'proxy.json')
  writeFileSync(file, JSON.stringify({ idleTimeout: 'forever', colour: 'blue' }))
  const canary = `canary-${randomUUID()}`
  const result = await runCli(
    ['check-config', '--config', file, '--listen', '0.0.0.0:8066', '--connect-timeout', 'soon'],
    cleanEnv({
      HOME: home.home,
      C66_PROXY_UPSTREAM: 'http://app.cloud66.com',
      C66_PROXY_LOG_LEVEL: 'chatty',
      CLOUD66_TOKEN: Buffer.from(`{"AccessToken": "${canary}"`).toString('base64'),
    }),
  )
  t.is(result.code, 1)
  for (const setting of [
    '--listen / C66_PROXY_LISTEN',
    '--upstream / C66_PROXY_UPSTREAM',
    '--log-level / C66_PROXY_LOG_LEVEL',
    '--connect-timeout / C66_PROXY_CONNECT_TIMEOUT',
    `--idle-timeout / C66_PROXY_IDLE_TIMEOUT (in ${file})`,
    `${file} (key "colour")`,
    'CLOUD66_TOKEN',
  ]) {
    t.true(result.stderr.includes(`  - ${setting}: `), setting)
  }
  t.is(result.stderr.match(/^ {2}- /gm)?.length, 7, result.stderr)
  t.false((result.stdout + result.stderr).includes(canary))
})

test('check-config exits 0 on a valid configuration and shows the effective listen address and upstream', async (t) => {
  const home = tempHome(t)
  const file = join(home.scratch, 'proxy.json')
  writeFileSync(file, JSON.stringify({ listen: '127.0.0.1:7001', upstream: 'https://file.example' }))
  const env = cleanEnv({ HOME: home.home, CLOUD66_ACCESS_TOKEN: 'tok', C66_PROXY_LISTEN: '127.0.0.1:7002' })
  const result = await runCli(['check-config', '--config', file, '--listen', '127.0.0.1:7003'], env)
  t.is(result.code, 0, result.stderr)
  t.regex(result.stdout, /configuration OK: listen 127\.0\.0\.1:7003, upstream https:\/\/file\.example\/api\/3/)
  t.is(result.stderr, '')
  // Without the flag, the environment wins over the file.
  const envWins = await runCli(['check-config', '--config', file], env)
  t.regex(envWins.stdout, /listen 127\.0\.0\.1:7002, upstream https:\/\/file\.example/)
})

test('check-config warns about a missing or malformed token without failing', async (t) => {
  const home = tempHome(t)
  const tokenFile = join(home.scratch, 'token')
  writeFileSync(tokenFile, 'two words')
  const result = await runCli(['check-config', '--token-file', tokenFile], cleanEnv({ HOME: home.home }))
  t.is(result.code, 0, result.stderr)
  t.regex(result.stdout, new RegExp(`warning: token source token-file \\(${tokenFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\) holds more than one word`))
  t.regex(result.stdout, /warning: no Cloud 66 token found/)
})

test('check-config with a valid CLOUD66_TOKEN neither warns nor prints the token', async (t) => {
  const home = tempHome(t)
  const canary = `canary-${randomUUID()}`
  const result = await runCli(['check-config'], cleanEnv({ HOME: home.home, CLOUD66_TOKEN: cloud66TokenValue(canary) }))
  t.is(result.code, 0, result.stderr)
  t.notRegex(result.stdout, /warning/)
  t.false((result.stdout + result.stderr).includes(canary))
})

test('check-config refuses a CLOUD66_TOKEN whose token holds a line break, without printing it', async (t) => {
  const home = tempHome(t)
  const canary = `canary-${randomUUID()}`
  const result = await runCli(['check-config'], cleanEnv({ HOME: home.home, CLOUD66_TOKEN: cloud66TokenValue(`${canary}\r\nX-Injected: 1`) }))
  t.is(result.code, 1)
  t.regex(result.stderr, /- CLOUD66_TOKEN: .*holds a control character/)
  t.false((result.stdout + result.stderr).includes(canary))
})

test('check-config refuses a CLOUD66_ACCESS_TOKEN that holds a line break, without printing it', async (t) => {
  const home = tempHome(t)
  const canary = `canary-${randomUUID()}`
  const result = await runCli(['check-config'], cleanEnv({ HOME: home.home, CLOUD66_ACCESS_TOKEN: `${canary}\nX-Injected: 1` }))
  t.is(result.code, 1)
  t.regex(result.stderr, /- CLOUD66_ACCESS_TOKEN: .*holds a control character/)
  t.false((result.stdout + result.stderr).includes(canary))
})
