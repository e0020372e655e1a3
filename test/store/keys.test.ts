import { randomBytes } from 'node:crypto'
import { chmod, readFile, readdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { inspect } from 'node:util'
import test from 'ava'
import { ConfigError } from '../../src/errors.js'
import { deriveKey, generateSecret, keyRingFromSecrets, loadKeyRing, parseSecret } from '../../src/store/keys.js'
import { scratchDir } from './_file-setup.js'

const bytes32 = randomBytes(32)

const accepted: Array<[string, string]> = [
  ['64 hex digits', bytes32.toString('hex')],
  ['64 upper-case hex digits', bytes32.toString('hex').toUpperCase()],
  ['base64 with padding', bytes32.toString('base64')],
  ['base64url without padding', bytes32.toString('base64url')],
  ['a value with a trailing newline, as read from a file', `${bytes32.toString('hex')}\n`],
]
for (const [form, text] of accepted) {
  test(`parseSecret accepts 32 bytes written as ${form}`, (t) => {
    t.deepEqual(parseSecret(text, 'C66_PROXY_SECRET'), bytes32)
  })
}

test('parseSecret accepts more than 32 bytes', (t) => {
  const long = randomBytes(48)
  t.deepEqual(parseSecret(long.toString('base64url'), 'C66_PROXY_SECRET'), long)
})

const short = randomBytes(31)
const refused: Array<[string, string]> = [
  ['31 bytes of hex', short.toString('hex')],
  ['31 bytes of base64', short.toString('base64')],
  ['a passphrase with spaces', 'correct horse battery staple is not a key'],
  ['a short word', 'hunter2'],
  ['text with characters outside hex and base64', `${bytes32.toString('hex')}!`],
  ['an empty value', '   '],
]
for (const [what, text] of refused) {
  test(`parseSecret refuses ${what}, naming the setting and never the value`, (t) => {
    const error = t.throws(() => parseSecret(text, 'C66_PROXY_SECRET_FILE'), { instanceOf: ConfigError })
    t.true(error?.message.includes('C66_PROXY_SECRET_FILE'))
    t.regex(error?.message ?? '', /32 random bytes/)
    const value = text.trim()
    if (value.length > 0) t.false(error?.message.includes(value), 'the message echoes the value')
    if (value.length >= 8) t.false(error?.message.includes(value.slice(0, 8)), 'the message echoes part of the value')
  })
}

test('generateSecret gives a fresh 32-byte base64url secret that parseSecret accepts', (t) => {
  const one = generateSecret()
  const two = generateSecret()
  t.regex(one, /^[A-Za-z0-9_-]{43}$/)
  t.not(one, two)
  t.is(parseSecret(one, 'C66_PROXY_SECRET').length, 32)
})

test('the key id is 8 hex digits, stable for a secret, different for another, and not a piece of the secret', (t) => {
  const secret = randomBytes(32)
  const { kid } = deriveKey(secret)
  t.regex(kid, /^[0-9a-f]{8}$/)
  t.is(deriveKey(Buffer.from(secret)).kid, kid)
  t.not(deriveKey(randomBytes(32)).kid, kid)
  t.false(secret.toString('hex').includes(kid))
})

test('a key ring seals with the current secret and finds previous ones by id', (t) => {
  const current = randomBytes(32)
  const previous = randomBytes(32)
  const keys = keyRingFromSecrets(current, [previous])
  t.is(keys.current.kid, deriveKey(current).kid)
  t.is(keys.byId(deriveKey(previous).kid)?.kid, deriveKey(previous).kid)
  t.is(keys.byId(deriveKey(randomBytes(32)).kid), undefined)
})

test('C66_PROXY_SECRET and C66_PROXY_PREVIOUS_SECRETS build the ring', async (t) => {
  const dir = await scratchDir(t)
  const [current, older, oldest] = [randomBytes(32), randomBytes(32), randomBytes(32)]
  const keys = await loadKeyRing({
    env: { C66_PROXY_SECRET: current.toString('base64url'), C66_PROXY_PREVIOUS_SECRETS: `${older.toString('hex')}, ${oldest.toString('base64')}` },
    storeDir: dir,
    allowGeneratedKey: true,
  })
  t.is(keys.current.kid, deriveKey(current).kid)
  t.is(keys.source, 'C66_PROXY_SECRET')
  for (const secret of [older, oldest]) t.not(keys.byId(deriveKey(secret).kid), undefined)
  t.deepEqual(await readdir(dir), [], 'no key file is generated when a secret is given')
})

test('C66_PROXY_SECRET_FILE is read from the file it names', async (t) => {
  const dir = await scratchDir(t)
  const secret = randomBytes(32)
  const file = join(dir, 'secret')
  await writeFile(file, `${secret.toString('hex')}\n`)
  const keys = await loadKeyRing({ env: { C66_PROXY_SECRET_FILE: file }, storeDir: dir, allowGeneratedKey: false })
  t.is(keys.current.kid, deriveKey(secret).kid)
})

test('a bad previous secret is reported by its position, without its value', async (t) => {
  const dir = await scratchDir(t)
  const error = await t.throwsAsync(
    loadKeyRing({
      env: { C66_PROXY_SECRET: generateSecret(), C66_PROXY_PREVIOUS_SECRETS: `${generateSecret()},tooshortvalue` },
      storeDir: dir,
      allowGeneratedKey: true,
    }),
    { instanceOf: ConfigError },
  )
  t.true(error?.message.includes('C66_PROXY_PREVIOUS_SECRETS (item 2)'))
  t.false(error?.message.includes('tooshortvalue'))
})

test('setting both C66_PROXY_SECRET and C66_PROXY_SECRET_FILE is refused', async (t) => {
  const dir = await scratchDir(t)
  await t.throwsAsync(
    loadKeyRing({ env: { C66_PROXY_SECRET: generateSecret(), C66_PROXY_SECRET_FILE: join(dir, 'x') }, storeDir: dir, allowGeneratedKey: true }),
    {
      instanceOf: ConfigError,
      message: /not both/,
    },
  )
})

test('without a secret and outside local mode, loading the ring asks for C66_PROXY_SECRET', async (t) => {
  const dir = await scratchDir(t)
  const error = await t.throwsAsync(loadKeyRing({ env: {}, storeDir: dir, allowGeneratedKey: false }), { instanceOf: ConfigError })
  t.regex(error?.message ?? '', /C66_PROXY_SECRET/)
  t.deepEqual(await readdir(dir), [])
})

test('local mode generates secret.key with mode 0600 and uses the same key on the next start', async (t) => {
  const dir = join(await scratchDir(t), 'c66-proxy')
  const first = await loadKeyRing({ env: {}, storeDir: dir, allowGeneratedKey: true })
  const keyFile = join(dir, 'secret.key')
  t.is((await stat(keyFile)).mode & 0o777, 0o600)
  t.is((await stat(dir)).mode & 0o777, 0o700)
  t.is(first.source, keyFile)
  t.is(parseSecret(await readFile(keyFile, 'utf8'), keyFile).length, 32)
  const second = await loadKeyRing({ env: {}, storeDir: dir, allowGeneratedKey: true })
  t.is(second.current.kid, first.current.kid)
  t.deepEqual((await readdir(dir)).sort(), ['secret.key'], 'no temp file is left behind')
})

test('several loads racing in local mode agree on one generated key', async (t) => {
  const dir = join(await scratchDir(t), 'c66-proxy')
  const rings = await Promise.all(Array.from({ length: 8 }, () => loadKeyRing({ env: {}, storeDir: dir, allowGeneratedKey: true })))
  t.is(new Set(rings.map((keys) => keys.current.kid)).size, 1)
})

test('a generated key file that others can read is refused rather than used', async (t) => {
  const dir = join(await scratchDir(t), 'c66-proxy')
  await loadKeyRing({ env: {}, storeDir: dir, allowGeneratedKey: true })
  await chmod(join(dir, 'secret.key'), 0o644)
  const error = await t.throwsAsync(loadKeyRing({ env: {}, storeDir: dir, allowGeneratedKey: true }), { instanceOf: ConfigError })
  t.regex(error?.message ?? '', /chmod 600/)
})

test('a key ring shows no secret or key material when inspected or serialised', (t) => {
  const secret = randomBytes(32)
  const previous = randomBytes(32)
  const keys = keyRingFromSecrets(secret, [previous])
  const material = keys.current.key.export()
  const shown = [inspect(keys, { depth: 10, showHidden: true }), JSON.stringify(keys), inspect(keys.current, { depth: 10, showHidden: true })].join('\n')
  for (const bytes of [secret, previous, material]) {
    for (const form of [bytes.toString('hex'), bytes.toString('base64'), bytes.toString('base64url')]) t.false(shown.includes(form))
  }
  t.true(shown.includes(keys.current.kid), 'the key id is shown, so the check above looked at real output')
})
