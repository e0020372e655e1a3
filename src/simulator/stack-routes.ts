// Stacks, their servers and services, and reboots. Scopes as Cloud 66's docs give them per
// endpoint: reads are `public`, creating a stack is `redeploy`, reboots `reboot` (a scope missing
// from the docs' scope table), and a server's SSH private key additionally needs `admin`.
import { renderAction, startAction } from './actions.js'
import { endpoint } from './endpoint.js'
import type { ApiRequest, Reply } from './endpoint.js'
import { page, single } from './envelope.js'
import { Random } from './fake.js'
import { API, itemOf, STACK, stackOf } from './lookup.js'
import type { StackJson } from './model.js'
import { flagParam, stringParam } from './params.js'
import { badRequest } from './respond.js'
import type { Router } from './router.js'
import { newStack } from './seed-stack.js'

export function registerStackRoutes(router: Router): void {
  router
    .on(
      'GET',
      `${API}/stacks`,
      endpoint({ scope: 'public' }, (api) => ({ body: page(filterStacks(api), api.input) })),
    )
    .on('POST', `${API}/stacks`, endpoint({ scope: 'redeploy' }, createStack))
    .on(
      'GET',
      STACK,
      endpoint({ scope: 'public' }, (api) => ({ body: single(stackOf(api).stack) })),
    )
    .on(
      'GET',
      `${STACK}/servers`,
      endpoint({ scope: 'public' }, (api) => ({ body: page(stackOf(api).servers, api.input) })),
    )
    .on('GET', `${STACK}/servers/:uid`, endpoint({ scope: 'public' }, showServer))
    .on(
      'POST',
      `${STACK}/servers/:uid/reboot_server`,
      endpoint({ scope: 'reboot' }, (api) => {
        const entry = stackOf(api)
        itemOf(api, entry.servers, 'uid', (s) => s.uid, 'Server')
        return { body: single(renderAction(startAction(api.sim.data, entry, 'server_reboot'))) }
      }),
    )
    .on('POST', `${STACK}/reboot_servers`, endpoint({ scope: 'reboot' }, rebootServers))
    .on(
      'GET',
      `${STACK}/services`,
      endpoint({ scope: 'public' }, (api) => {
        const serverUid = stringParam(api.input, 'server_uid')
        const services = stackOf(api).services.filter((s) => serverUid === undefined || s.containers.some((c) => c.server_uid === serverUid))
        return { body: page(services, api.input) }
      }),
    )
    .on(
      'GET',
      `${STACK}/services/:name`,
      endpoint({ scope: 'public' }, (api) => ({
        body: single(itemOf(api, stackOf(api).services, 'name', (s) => s.name, 'Service')),
      })),
    )
}

/** The list filters cx sends (`filter_*`): names and repos by substring, the rest exactly. */
function filterStacks(api: ApiRequest): StackJson[] {
  const name = stringParam(api.input, 'filter_name')?.toLowerCase()
  const environment = stringParam(api.input, 'filter_environment')
  const repo = stringParam(api.input, 'filter_git_repo')?.toLowerCase()
  const branch = stringParam(api.input, 'filter_git_branch')
  return api.sim.data.stacks
    .filter(
      ({ stack }) =>
        (name === undefined || stack.name.toLowerCase().includes(name)) &&
        (environment === undefined || stack.environment === environment) &&
        (repo === undefined || stack.git.toLowerCase().includes(repo)) &&
        (branch === undefined || stack.git_branch === branch),
    )
    .map((entry) => entry.stack)
}

function createStack(api: ApiRequest): Reply {
  const name = stringParam(api.input, 'name')
  if (name === undefined) throw badRequest('Missing required parameter: name')
  const data = api.sim.data
  const entry = newStack(
    {
      app: name,
      environment: stringParam(api.input, 'environment') ?? 'production',
      index: data.stacks.length,
      random: new Random(data.stacks.length + 0xc66),
      nextId: data.nextId,
      user: data.users[0]!.email,
    },
    name,
    stringParam(api.input, 'git_repo') ?? stringParam(api.input, 'git') ?? '',
    stringParam(api.input, 'git_branch') ?? 'main',
    Date.now(),
  )
  data.addStack(entry)
  return { body: single(renderAction(startAction(data, entry, 'stack_create'))) }
}

function showServer(api: ApiRequest): Reply {
  const server = itemOf(api, stackOf(api).servers, 'uid', (s) => s.uid, 'Server')
  // Old cx builds send include_private_key in a GET body; params merge it in like the query.
  if (!flagParam(api.input, 'include_private_key')) return { body: single({ ...server, ssh_private_key: null }) }
  api.requireScope('admin')
  const key = fakePrivateKey(server.uid)
  return { body: single({ ...server, ssh_private_key: key, private_key: key }) }
}

function rebootServers(api: ApiRequest): Reply {
  const strategy = stringParam(api.input, 'strategy')
  if (strategy !== undefined && strategy !== 'parallel' && strategy !== 'serial') {
    throw badRequest('strategy must be parallel or serial')
  }
  const entry = stackOf(api)
  return { body: single(renderAction(startAction(api.sim.data, entry, 'stack_reboot'))) }
}

/** Looks like an OpenSSH key so redaction tests have something realistic; it is not one. */
function fakePrivateKey(uid: string): string {
  const body = Buffer.from(`openssh-key-v1 c66-simulator fake key for ${uid} `.repeat(6)).toString('base64')
  const lines = body.match(/.{1,70}/g) ?? []
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`
}
