// `c66-proxy token import-cx` stores only a token the proxy can send: a token with a line break or
// another control character, a broken cx.json or cxprofiles.json, and a cx file that is not a
// regular file are refused with one line naming the file, never its content (it may hold a
// token), never a stack trace, and nothing is stored.
import { randomUUID } from 'node:crypto'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { cleanEnv, runCli, type CliResult } from '../helpers/cli.js'
import { dataDir } from '../helpers/cli-session.js'
import { cxTokenJson, fifo, tempHome } from '../helpers/token-files.js'

async function importCx(t: ExecutionContext, home: string, dir: string, args: string[] = []): Promise<CliResult> {
  const result = await runCli(['token', 'import-cx', '--data-dir', dir, ...args], cleanEnv({ HOME: home }), '', { timeoutMs: 10_000 })
  t.is(result.signal, null, `import-cx did not finish in time; stderr: ${result.stderr}`)
  return result
}

/** Refused: exit 1, a single `c66-proxy: ...` line on stderr, no stack, no canary, no store. */
function refused(t: ExecutionContext, result: CliResult, dir: string, message: RegExp, canary?: string): void {
  t.is(result.code, 1, result.stderr)
  t.is(result.stdout, '')
  t.regex(result.stderr, /^c66-proxy: [^\n]+\n$/, 'one line')
  t.notRegex(result.stderr, /\bat .*\.js:\d+/, 'no stack trace')
  t.regex(result.stderr, message)
  if (canary !== undefined) t.false((result.stdout + result.stderr).includes(canary), 'the file content is not echoed')
  t.false(existsSync(join(dir, 'store.json')), 'nothing stored')
}

test('a cx token holding CR/LF is refused like `token set` refuses it, and nothing is stored', async (t) => {
  const home = tempHome(t)
  const dir = await dataDir(t)
  const canary = `canary-${randomUUID()}`
  home.writeCx(`${canary}\r\nX-Injected: 1`)
  refused(t, await importCx(t, home.home, dir), dir, /cx\.json holds a control character/, canary)
})

test('a cx token holding another control character is refused', async (t) => {
  const home = tempHome(t)
  const dir = await dataDir(t)
  home.writeCx('tok\u0000en')
  refused(t, await importCx(t, home.home, dir), dir, /cx\.json holds a control character/)
})

test('a malformed cx.json is one line without a stack and without its content', async (t) => {
  const home = tempHome(t)
  const dir = await dataDir(t)
  const canary = `canary-${randomUUID()}`
  writeFileSync(join(home.cxDir, 'cx.json'), `{"AccessToken":"${canary}", "RefreshToken": `)
  refused(t, await importCx(t, home.home, dir), dir, /cx\.json not valid JSON$/m, canary)
})

test('a malformed cxprofiles.json is one line without a stack and without its content', async (t) => {
  const home = tempHome(t)
  const dir = await dataDir(t)
  const canary = `canary-${randomUUID()}`
  home.writeCx(canary, 'cx_staging.json')
  writeFileSync(join(home.cxDir, 'cxprofiles.json'), `{"profiles": {"staging": {"token_file": "cx_staging.json", "note": "${canary}`)
  refused(t, await importCx(t, home.home, dir, ['--cx-profile', 'staging']), dir, /cxprofiles\.json not valid JSON/, canary)
})

test("a cxprofiles.json whose token_file is not a string falls back to cx's default name, without a stack", async (t) => {
  const home = tempHome(t)
  const dir = await dataDir(t)
  writeFileSync(join(home.cxDir, 'cxprofiles.json'), JSON.stringify({ profiles: { staging: { token_file: 42 } } }))
  home.writeCx('tok-staging-1', 'cx_staging.json')
  const result = await importCx(t, home.home, dir, ['--cx-profile', 'staging'])
  // A token_file that is not a name falls back to cx's default name for the profile.
  t.is(result.code, 0, result.stderr)
  t.notRegex(result.stderr, /\bat .*\.js:\d+/)
})

test('a profile missing from cxprofiles.json is refused by name, as the proxy refuses it, and no file is guessed', async (t) => {
  const home = tempHome(t)
  const dir = await dataDir(t)
  home.writeProfiles({ default: 'cx.json' })
  home.writeCx('tok-guessed-1', 'cx_prod.json')
  refused(t, await importCx(t, home.home, dir, ['--cx-profile', 'prod']), dir, /cxprofiles\.json has no profile named "prod"/, 'tok-guessed-1')
})

test('a FIFO as cx.json does not hang import-cx: it is refused as not a regular file', async (t) => {
  const home = tempHome(t)
  const dir = await dataDir(t)
  fifo(t, join(home.cxDir, 'cx.json'))
  refused(t, await importCx(t, home.home, dir), dir, /cx\.json is not a regular file \(a FIFO\)/)
})

test('a FIFO as cxprofiles.json does not hang import-cx either', async (t) => {
  const home = tempHome(t)
  const dir = await dataDir(t)
  fifo(t, join(home.cxDir, 'cxprofiles.json'))
  refused(t, await importCx(t, home.home, dir, ['--cx-profile', 'staging']), dir, /cxprofiles\.json is not a regular file \(a FIFO\)/)
})

test('a cx.json bigger than 16 KiB is refused without being stored', async (t) => {
  const home = tempHome(t)
  const dir = await dataDir(t)
  writeFileSync(join(home.cxDir, 'cx.json'), cxTokenJson('a'.repeat(20 * 1024)))
  refused(t, await importCx(t, home.home, dir), dir, /cx\.json is 20\.\d KiB; a token file is at most 16 KiB/)
})
