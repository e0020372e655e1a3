// The tiers (test/README.md) hold what they say: every test file `npm run test:fast` runs keeps to
// this process (no spawned CLI, npm, curl or fixture, no browser, no Redis), and every file that
// test/tiers.json keeps for the full run because it needs one of those does need it.
import test from 'ava'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'

const ROOT = join(import.meta.dirname, '..', '..')

/** test/tiers.json: path (a file, or a folder ending in /) → why only the full run runs it, by kind. */
type Tiers = Record<string, Record<string, string>>
const tiers = JSON.parse(readFileSync(join(ROOT, 'test', 'tiers.json'), 'utf8')) as Tiers
const KINDS = ['browser', 'redis', 'clients', 'processes', 'slow']

/** Listed paths of the kinds given. */
const listed = (kinds: readonly string[]): string[] => kinds.flatMap((kind) => Object.keys(tiers[kind] ?? {}))
const covers = (path: string, file: string): boolean => (path.endsWith('/') ? file.startsWith(path) : file === path)

function testFiles(dir = join(ROOT, 'test')): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) =>
      entry.isDirectory() ? testFiles(join(dir, entry.name)) : entry.name.endsWith('.test.ts') ? [relative(ROOT, join(dir, entry.name))] : [],
    )
    .sort()
}

/** What starts something outside this process: a child process, a browser, a redis-server. */
const OUTSIDE =
  /from 'node:child_process'|from '\.\.\/helpers\/(?:gateway-replicas|spawned-proxy|redis-server|browser|os-user)\.js'|\b(?:runCli|startCli|cliSession|watchProcess|spawnProxy|spawnFixture|runCurl|launchChromium|startRedis\w*|startReplicas|curlAs|createOsUser)\(/

const ALL = testFiles()
/** This file names what it looks for, so it is not read for it. */
const SELF = relative(ROOT, import.meta.filename)
const FAST = ALL.filter((file) => !listed(KINDS).some((path) => covers(path, file)))

test('test/tiers.json names only known kinds and paths that exist', (t) => {
  t.deepEqual(
    Object.keys(tiers).filter((kind) => !kind.startsWith('$')),
    KINDS,
  )
  for (const path of listed(KINDS)) t.true(existsSync(join(ROOT, path)), path)
})

test('both tiers have tests: the fast tier holds the unit tests and most files', (t) => {
  t.true(FAST.filter((file) => file.startsWith('test/unit/')).length >= 9)
  t.true(FAST.length > ALL.length / 2, `${FAST.length} of ${ALL.length} files in the fast tier`)
})

test('no test file of the fast tier starts a process, a browser or Redis', (t) => {
  for (const file of FAST.filter((f) => f !== SELF)) t.false(OUTSIDE.test(readFileSync(join(ROOT, file), 'utf8')), `${file} belongs in test/tiers.json`)
})

test('every file kept for the full run because of a browser, Redis, a real client or a process does start one', (t) => {
  for (const file of ALL.filter((f) => listed(['browser', 'redis', 'clients', 'processes']).some((path) => covers(path, f)))) {
    t.true(OUTSIDE.test(readFileSync(join(ROOT, file), 'utf8')), `${file} starts nothing outside the test process: it belongs in the fast tier`)
  }
})
