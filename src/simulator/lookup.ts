// Finding the resource a path names, or answering 404 the way the API does.
import type { StackEntry } from './data.js'
import type { ApiRequest } from './endpoint.js'
import { notFound } from './respond.js'
import { param } from './router.js'

/** Every v3 route lives under this prefix. */
export const API = '/api/3'
/** Routes of one stack: `:id` is the stack uid. */
export const STACK = `${API}/stacks/:id`

/** The stack named by the `:id` path parameter. */
export function stackOf(api: ApiRequest): StackEntry {
  const entry = api.sim.data.stack(param(api.ctx, 'id'))
  if (entry === undefined) throw notFound('Stack')
  return entry
}

/** The item whose `key` equals path parameter `name` (numeric ids compare as strings). */
export function itemOf<T>(api: ApiRequest, items: readonly T[], name: string, key: (item: T) => string | number, what: string): T {
  const wanted = param(api.ctx, name)
  const item = items.find((candidate) => String(key(candidate)) === wanted)
  if (item === undefined) throw notFound(what)
  return item
}
