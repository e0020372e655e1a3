import test from 'ava'
import { CONFIG_FILE_SETTING, SETTINGS } from '../../src/config/settings.js'
import { runCli } from '../helpers/cli.js'

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

test('c66-proxy --help lists every flag on one line with its environment variable', async (t) => {
  const result = await runCli(['--help'])
  t.is(result.code, 0, result.stderr)
  for (const s of [...SETTINGS, CONFIG_FILE_SETTING]) {
    t.regex(result.stdout, new RegExp(`^ +${escape(s.flag)}\\b[^\\n]* ${escape(s.env)}$`, 'm'), s.flag)
  }
})

test('c66-proxy --help names the token variables and the cx toolbelt file, in the order they are tried', async (t) => {
  const { stdout } = await runCli(['--help'])
  const order = ['CLOUD66_ACCESS_TOKEN', 'CLOUD66_TOKEN', '--token-file PATH', '~/.cloud66/cx.json'].map((s) => stdout.indexOf(`  ${s}`))
  t.true(
    order.every((i) => i >= 0),
    `all present: ${order.join(',')}`,
  )
  t.deepEqual(
    [...order].sort((a, b) => a - b),
    order,
  )
  t.regex(stdout, /--cx-profile NAME/)
})

test('c66-proxy --help lists the commands', async (t) => {
  const { stdout } = await runCli(['--help'])
  for (const command of ['serve', 'check-config', 'status', 'simulate']) t.regex(stdout, new RegExp(`^  ${command}\\b`, 'm'), command)
})

test('each configurable command accepts every setting flag', async (t) => {
  for (const command of ['serve', 'status', 'check-config']) {
    const { stdout, code } = await runCli([command, '--help'])
    t.is(code, 0)
    for (const s of SETTINGS) t.regex(stdout, new RegExp(`^  ${escape(s.flag)}\\b`, 'm'), `${command} ${s.flag}`)
  }
})
