import { createHmac } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'ava'
import { auditKeysFromEnv, auditKeysFromSecrets, type AuditKey } from '../../src/audit/audit-key.js'
import { ConfigError } from '../../src/errors.js'
import { sessionKeyFrom } from '../../src/gateway/session-key.js'
import { deriveKey } from '../../src/store/keys.js'
import { OTHER_SECRET, TEST_SECRET, tempDir, testKeys } from '../helpers/audit-files.js'

const secret = Buffer.from(TEST_SECRET, 'hex')
const mac = (key: AuditKey) => createHmac('sha256', key.key).update('probe').digest('hex')

test('the audit key has HKDF labels of its own: it is neither the store key nor the session key, and its kid differs from the store’s', (t) => {
  const audit = testKeys.current.key.export()
  const store = deriveKey(secret)
  t.is(audit.length, 32)
  t.false(audit.equals(store.key.export()))
  t.false(audit.equals(sessionKeyFrom({ C66_PROXY_SECRET: TEST_SECRET })))
  t.regex(testKeys.current.kid, /^[0-9a-f]{8}$/)
  t.not(testKeys.current.kid, store.kid)
})

test('auditKeysFromEnv reads C66_PROXY_SECRET or C66_PROXY_SECRET_FILE alike, and knows the previous secrets’ keys by kid', (t) => {
  const keyFile = join(tempDir(t), 'secret.key')
  writeFileSync(keyFile, `${Buffer.from(TEST_SECRET, 'hex').toString('base64url')}\n`, { mode: 0o600 })
  const inline = auditKeysFromEnv({ C66_PROXY_SECRET: TEST_SECRET, C66_PROXY_PREVIOUS_SECRETS: `${OTHER_SECRET}, ` })
  const fromFile = auditKeysFromEnv({ C66_PROXY_SECRET_FILE: keyFile, C66_PROXY_SECRET: '  ' })
  t.is(inline.current.kid, testKeys.current.kid)
  t.is(fromFile.current.kid, testKeys.current.kid)
  t.is(mac(fromFile.current), mac(testKeys.current))
  const old = auditKeysFromSecrets(Buffer.from(OTHER_SECRET, 'hex')).current
  t.is(inline.byKid(old.kid)?.kid, old.kid)
  t.is(mac(inline.byKid(old.kid) ?? testKeys.current), mac(old))
  t.is(fromFile.byKid(old.kid), undefined)
  t.is(inline.byKid('00000000'), undefined)
})

test('auditKeysFromEnv throws a ConfigError naming the variable, never the value, when no secret is set or one is malformed', (t) => {
  const malformed = 'not a secret; canary-7f3a9'
  const cases: Array<[Record<string, string | undefined>, string]> = [
    [{}, 'C66_PROXY_SECRET / C66_PROXY_SECRET_FILE'],
    [{ C66_PROXY_SECRET: '' }, 'C66_PROXY_SECRET / C66_PROXY_SECRET_FILE'],
    [{ C66_PROXY_SECRET: malformed }, 'C66_PROXY_SECRET'],
    [{ C66_PROXY_SECRET: TEST_SECRET, C66_PROXY_PREVIOUS_SECRETS: malformed }, 'C66_PROXY_PREVIOUS_SECRETS (item 1)'],
    [{ C66_PROXY_SECRET: TEST_SECRET, C66_PROXY_SECRET_FILE: '/nonexistent' }, 'C66_PROXY_SECRET_FILE'],
  ]
  for (const [env, setting] of cases) {
    const err = t.throws(() => auditKeysFromEnv(env), { instanceOf: ConfigError })
    t.deepEqual(
      err?.problems.map((p) => p.setting),
      [setting],
    )
    t.false(err?.message.includes('canary-7f3a9') ?? true)
    t.false(err?.message.includes(TEST_SECRET) ?? true)
  }
})
