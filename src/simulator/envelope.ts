// The v3 response envelope, which cx always unwraps: `{"response": …}` for one object, plus
// `count` and `pagination` for lists. Pages hold 30 items; `page` is 1-based; a page past the end
// is empty. `previous`/`next` are null at the ends, which is what stops cx's paging loop.
import type { Params } from './params.js'
import { pageParam } from './params.js'

export const PAGE_SIZE = 30

export interface Pagination {
  readonly previous: number | null
  readonly next: number | null
  readonly current: number
  readonly per_page: number
  readonly count: number
  readonly pages: number
}

export interface ListEnvelope<T> {
  readonly response: readonly T[]
  readonly count: number
  readonly pagination: Pagination
}

export function page<T>(items: readonly T[], params: Params): ListEnvelope<T> {
  const current = pageParam(params)
  const count = items.length
  const pages = Math.max(1, Math.ceil(count / PAGE_SIZE))
  return {
    response: items.slice((current - 1) * PAGE_SIZE, current * PAGE_SIZE),
    count,
    pagination: {
      previous: current > 1 ? Math.min(current - 1, pages) : null,
      next: current < pages ? current + 1 : null,
      current,
      per_page: PAGE_SIZE,
      count,
      pages,
    },
  }
}

export function single<T>(item: T): { readonly response: T } {
  return { response: item }
}

/** The GenericResponse of mutations that start nothing asynchronous. */
export function ok(message: string): { readonly response: { ok: true; message: string } } {
  return { response: { ok: true, message } }
}
