// Environment variables. Cloud 66's docs require the `admin` scope for every endpoint, reads
// included, and changes answer with an async action, as the API applies them to servers in the
// background.
import { renderAction, startAction } from './actions.js'
import type { StackEntry } from './data.js'
import { endpoint } from './endpoint.js'
import type { ApiRequest, Reply } from './endpoint.js'
import { page, single } from './envelope.js'
import { iso } from './fake.js'
import { STACK, stackOf } from './lookup.js'
import type { EnvVarJson } from './model.js'
import { stringParam } from './params.js'
import { ApiError, badRequest, notFound } from './respond.js'
import type { Router } from './router.js'
import { param } from './router.js'

const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/

export function registerEnvironmentRoutes(router: Router): void {
  const admin = { scope: 'admin' } as const
  router
    .on('GET', `${STACK}/environments`, endpoint(admin, listVariables))
    .on('POST', `${STACK}/environments`, endpoint(admin, addVariable))
    .on(
      'GET',
      `${STACK}/environments/:key`,
      endpoint(admin, (api) => ({ body: single(variableOf(api, stackOf(api))) })),
    )
    .on(['PUT', 'PATCH'], `${STACK}/environments/:key`, endpoint(admin, updateVariable))
    .on('DELETE', `${STACK}/environments/:key`, endpoint(admin, deleteVariable))
}

/** A list, or with `environments_format` the bulk download cx uses: `{contents: "KEY=value\n…"}`. */
function listVariables(api: ApiRequest): Reply {
  const entry = stackOf(api)
  if (stringParam(api.input, 'environments_format') === undefined) return { body: page(entry.envVars, api.input) }
  const contents = entry.envVars.map((v) => `${v.key}=${v.value}\n`).join('')
  return { body: single({ contents }) }
}

function addVariable(api: ApiRequest): Reply {
  const entry = stackOf(api)
  const key = stringParam(api.input, 'key')
  const value = stringParam(api.input, 'value') ?? ''
  if (key === undefined || !KEY.test(key)) throw badRequest('key must be a valid environment variable name')
  if (entry.envVars.some((v) => v.key === key)) throw new ApiError(409, 'conflict', `${key} already exists`)
  const now = iso(Date.now())
  entry.envVars.push({
    id: api.sim.data.nextId('envVar'),
    key,
    value,
    readonly: false,
    is_password: false,
    created_at_iso: now,
    updated_at_iso: now,
    history: [],
  })
  return { body: single(renderAction(startAction(api.sim.data, entry, 'env-var-new'))) }
}

function updateVariable(api: ApiRequest): Reply {
  const entry = stackOf(api)
  const variable = writable(variableOf(api, entry))
  const value = stringParam(api.input, 'value')
  if (value === undefined) throw badRequest('Missing required parameter: value')
  const now = iso(Date.now())
  variable.history.unshift({ value: variable.value, created_at_iso: variable.updated_at_iso, updated_at_iso: now })
  variable.value = value
  variable.updated_at_iso = now
  return { body: single(renderAction(startAction(api.sim.data, entry, 'env-var-set'))) }
}

function deleteVariable(api: ApiRequest): Reply {
  const entry = stackOf(api)
  const variable = writable(variableOf(api, entry))
  entry.envVars.splice(entry.envVars.indexOf(variable), 1)
  return { body: single(renderAction(startAction(api.sim.data, entry, 'env-var-delete'))) }
}

/** `:key` is the variable's name; its numeric id works too. */
function variableOf(api: ApiRequest, entry: StackEntry): EnvVarJson {
  const key = param(api.ctx, 'key')
  const variable = entry.envVars.find((v) => v.key === key || String(v.id) === key)
  if (variable === undefined) throw notFound('Environment variable')
  return variable
}

// Generated variables (STACK_NAME, DATABASE_URL…) are managed by Cloud 66 itself.
function writable(variable: EnvVarJson): EnvVarJson {
  if (variable.readonly) throw badRequest(`${variable.key} is read-only`)
  return variable
}
