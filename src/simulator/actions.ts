// Async stack actions: many mutations (stack create, reboots, settings, env-var uploads) answer
// with an action whose `finished_at` stays null while it runs; clients poll
// GET /stacks/{id}/actions/{id} until it is set.
// An action finishes lazily, when read after ACTION_RUN_MS, so no timer outlives close().
import type { Dataset, StackEntry } from './data.js'
import { iso } from './fake.js'
import type { ActionJson } from './model.js'

export const ACTION_RUN_MS = 1000

export interface ActionRecord {
  readonly json: ActionJson
  readonly finishesAt: number
}

export function startAction(data: Dataset, entry: StackEntry, action: string, userReference: string | null = null, now: number = Date.now()): ActionRecord {
  const record: ActionRecord = {
    json: {
      id: data.nextId('action'),
      user: data.users[0]!.email,
      resource_type: 'Stack',
      action,
      resource_id: entry.stack.uid,
      started_via: 'api',
      started_at: iso(now),
      finished_at: null,
      finished_success: null,
      finished_message: null,
      finished_result: null,
      metadata: { user_reference: userReference },
    },
    finishesAt: now + ACTION_RUN_MS,
  }
  entry.actions.unshift(record)
  return record
}

/** The action as a poll at `now` sees it. */
export function renderAction(record: ActionRecord, now: number = Date.now()): ActionJson {
  const json = record.json
  if (json.finished_at === null && now >= record.finishesAt) {
    json.finished_at = iso(record.finishesAt)
    json.finished_success = true
    json.finished_message = `${json.action} completed`
    json.finished_result = 'ok'
  }
  return json
}
