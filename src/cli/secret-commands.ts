import { join } from 'node:path'
import { localStore } from '../open.js'
import { systemClock } from '../clock.js'
import type { Config } from '../config/types.js'
import { generateSecret } from '../store/keys.js'
import { checkStoreOrExit } from './context.js'
import { openOperatorAudit } from './operator-audit.js'

export function secretGenerate(): void {
  process.stdout.write(`${generateSecret()}\n`)
}

/**
 * `secret rotate`. With a generated key file (local mode, no C66_PROXY_SECRET): a new key, every
 * record re-sealed, the old key gone. With C66_PROXY_SECRET: re-seals every record with it,
 * opening old records with C66_PROXY_PREVIOUS_SECRETS.
 */
export async function secretRotate(config: Config): Promise<void> {
  const env = config.secretEnv()
  if (env['C66_PROXY_SECRET'] === undefined && env['C66_PROXY_SECRET_FILE'] === undefined) {
    const { rotateGeneratedKey } = await import('../store/embedded.js')
    const { resealed, kid } = await rotateGeneratedKey(join(config.dataDir, 'store.json'), systemClock)
    process.stdout.write(`generated a new store key (kid ${kid}) and re-sealed ${resealed} record(s)\n`)
    return
  }
  const store = localStore(config, systemClock)
  await checkStoreOrExit(store)
  try {
    const resealed = await store.reseal()
    process.stdout.write(`re-sealed ${resealed} record(s) with the current C66_PROXY_SECRET; C66_PROXY_PREVIOUS_SECRETS can now be removed\n`)
    if (config.mode === 'gateway') {
      const audit = await openOperatorAudit({ auditLog: config.gateway.auditLog, secretEnv: config.secretEnv })
      audit?.write({ event: 'secret_rotated' })
      await audit?.close()
    }
  } finally {
    await store.close()
  }
}
