// Database backups. A backup file answers with a presigned, off-host S3 URL (`public_url`): the
// proxy must pass it through untouched and must never send the Bearer token there. Its escapes
// come back double-encoded (%252F), as the real API's do.
import { createHmac } from 'node:crypto'
import { startAction, renderAction } from './actions.js'
import { endpoint } from './endpoint.js'
import type { ApiRequest } from './endpoint.js'
import { page, single } from './envelope.js'
import { itemOf, STACK, stackOf } from './lookup.js'
import type { BackupFileJson, BackupJson } from './model.js'
import type { Router } from './router.js'

export function registerBackupRoutes(router: Router): void {
  router
    .on(
      'GET',
      `${STACK}/backups`,
      endpoint({ scope: 'public' }, (api) => ({
        body: page(
          stackOf(api).backups.map((b) => b.json),
          api.input,
        ),
      })),
    )
    .on(
      'POST',
      `${STACK}/backups`,
      endpoint({ scope: 'admin' }, (api) => ({
        body: single(renderAction(startAction(api.sim.data, stackOf(api), 'backup_new'))),
      })),
    )
    .on(
      'GET',
      `${STACK}/backups/:backup_id`,
      endpoint({ scope: 'public' }, (api) => ({ body: single(backupOf(api).json) })),
    )
    .on(
      'GET',
      `${STACK}/backups/:backup_id/files`,
      endpoint({ scope: 'public' }, (api) => ({
        body: page(backupOf(api).files, api.input),
      })),
    )
    .on(
      'GET',
      `${STACK}/backups/:backup_id/files/:file_id`,
      endpoint({ scope: 'public' }, (api) => {
        const backup = backupOf(api)
        const file = itemOf(api, backup.files, 'file_id', (f) => f.id, 'Backup file')
        return { body: single({ ok: true, public_url: presignedUrl(api, backup.json, file) }) }
      }),
    )
}

function backupOf(api: ApiRequest): { json: BackupJson; files: BackupFileJson[] } {
  return itemOf(api, stackOf(api).backups, 'backup_id', (b) => b.json.id, 'Backup')
}

/** An S3 query-string-authenticated (SigV2) URL whose query escapes are encoded twice. */
function presignedUrl(api: ApiRequest, backup: BackupJson, file: BackupFileJson): string {
  const path = `/${backup.storage_path}/${encodeURIComponent(file.name)}`
  const expires = Math.floor(Date.now() / 1000) + 3600
  const signature = createHmac('sha1', 'c66-simulator').update(`GET\n\n\n${expires}\n${path}`).digest('base64')
  const twice = (value: string): string => encodeURIComponent(value).replaceAll('%', '%25')
  return (
    `${api.sim.s3Origin}${path}?AWSAccessKeyId=AKIAC66SIMULATOR0000&Expires=${expires}` +
    `&response-content-disposition=${twice(`attachment; filename="${file.name}"`)}` +
    `&Signature=${twice(signature)}`
  )
}
