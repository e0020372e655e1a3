// Deployments (redeploy) and stack actions: the two kinds of asynchronous work a client starts and
// then polls: a redeploy answers with `async_action_id`, a stack action with the action itself, and
// clients poll GET /stacks/{id}/actions/{id} until `finished_at` is set.
import type { ActionRecord } from './actions.js'
import { renderAction, startAction } from './actions.js'
import { endpoint } from './endpoint.js'
import type { ApiRequest, Reply } from './endpoint.js'
import { ok, page, single } from './envelope.js'
import { iso } from './fake.js'
import { itemOf, STACK, stackOf } from './lookup.js'
import type { DeploymentJson } from './model.js'
import { stringParam } from './params.js'
import { badRequest } from './respond.js'
import type { Router } from './router.js'

/** The `command` values Cloud 66's docs list for POST /stacks/{id}/actions. */
export const ACTION_COMMANDS = new Set([
  'clear_caches',
  'maintenance_mode',
  'restart',
  'container_restart',
  'process_pause',
  'process_restart',
  'process_resume',
  'service_pause',
  'service_restart',
  'service_resume',
  'promote_slave_db',
  'resync_slave_db',
  'disable_replication_slave_db',
])

// A redeploy's deployment finishes when its action does (lazily, see actions.ts). Keyed by the
// deployment object itself, so each simulator's data keeps its own links.
const actionOfDeployment = new WeakMap<DeploymentJson, ActionRecord>()

export function registerDeployRoutes(router: Router): void {
  router
    .on(
      'GET',
      `${STACK}/deployments`,
      endpoint({ scope: 'public' }, (api) => ({
        body: page(settled(stackOf(api).deployments), api.input),
      })),
    )
    .on('POST', `${STACK}/deployments`, endpoint({ scope: 'redeploy' }, redeploy))
    .on(
      'GET',
      `${STACK}/deployments/:deployment_id`,
      endpoint({ scope: 'public' }, (api) => ({
        body: single(settle(deploymentOf(api))),
      })),
    )
    .on(
      'DELETE',
      `${STACK}/deployments/:deployment_id`,
      endpoint({ scope: 'redeploy' }, (api) => {
        const deployment = settle(deploymentOf(api))
        if (deployment.finished_at !== null) throw badRequest('The deployment has already finished')
        deployment.status = 'cancelled'
        deployment.finished_at = iso(Date.now())
        actionOfDeployment.delete(deployment)
        return { body: ok('Deployment cancelled') }
      }),
    )
    .on(
      'GET',
      `${STACK}/actions`,
      endpoint({ scope: 'public' }, (api) => {
        const reference = stringParam(api.input, 'user_reference')
        const actions = stackOf(api)
          .actions.filter((a) => reference === undefined || a.json.metadata.user_reference === reference)
          .map((a) => renderAction(a))
        return { body: page(actions, api.input) }
      }),
    )
    .on(
      'POST',
      `${STACK}/actions`,
      endpoint({ scope: 'redeploy' }, (api) => {
        const command = stringParam(api.input, 'command')
        if (command === undefined || !ACTION_COMMANDS.has(command)) throw badRequest(`Unknown command: ${command ?? '(none)'}`)
        const entry = stackOf(api)
        return { body: single(renderAction(startAction(api.sim.data, entry, command, stringParam(api.input, 'user_reference') ?? null))) }
      }),
    )
    .on(
      'GET',
      `${STACK}/actions/:action_id`,
      endpoint({ scope: 'public' }, (api) => {
        const action: ActionRecord = itemOf(api, stackOf(api).actions, 'action_id', (a) => a.json.id, 'Action')
        return { body: single(renderAction(action)) }
      }),
    )
}

/** Redeploy answers with the RedeployResponse shape cx decodes, not with the action itself. */
function redeploy(api: ApiRequest): Reply {
  const entry = stackOf(api)
  const now = Date.now()
  const gitRef = stringParam(api.input, 'git_ref') ?? entry.stack.git_branch
  const action = startAction(api.sim.data, entry, 'stack_redeploy', stringParam(api.input, 'user_reference') ?? null, now)
  for (const previous of entry.deployments) previous.is_head = false
  const repo = entry.stack.git.replace(/^git@github\.com:/, 'https://github.com/').replace(/\.git$/, '')
  const hash = action.json.started_at.replace(/\D/g, '').padEnd(40, '0')
  const deployment: DeploymentJson = {
    id: api.sim.data.nextId('deployment'),
    user: action.json.user,
    git_ref: gitRef,
    git_hash: hash,
    branch_head: hash,
    commit_url: repo === '' ? '' : `${repo}/commit/${hash}`,
    triggered_by: 'api',
    deployment_type: stringParam(api.input, 'deployment_profile') ?? 'full',
    started_at: iso(now),
    finished_at: null,
    status: 'deploying',
    is_head: true,
  }
  entry.deployments.unshift(deployment)
  actionOfDeployment.set(deployment, action)
  return {
    body: single({ ok: true, message: 'Stack queued for redeployment', queued: true, async_action_id: action.json.id }),
  }
}

function deploymentOf(api: ApiRequest): DeploymentJson {
  return itemOf(api, stackOf(api).deployments, 'deployment_id', (d) => d.id, 'Deployment')
}

function settle(deployment: DeploymentJson): DeploymentJson {
  const action = actionOfDeployment.get(deployment)
  if (action !== undefined && deployment.finished_at === null) {
    const { finished_at: finishedAt } = renderAction(action)
    if (finishedAt !== null) {
      deployment.finished_at = finishedAt
      deployment.status = 'success'
      actionOfDeployment.delete(deployment)
    }
  }
  return deployment
}

function settled(deployments: DeploymentJson[]): DeploymentJson[] {
  for (const deployment of deployments) if (deployment.finished_at === null) settle(deployment)
  return deployments
}
