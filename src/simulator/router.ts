// A small route table: method + path pattern → handler. Route modules (API, test streams, and later
// OAuth) each register into one Router, so adding endpoints never touches the server itself.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { SimulatorRequestRecord } from './index.js'
import type { ReceivedBody } from './recorder.js'
import type { SimulatorState } from './state.js'

/** Everything a handler gets for one request. */
export interface RequestContext {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  /** req.url parsed against the simulator origin. */
  readonly url: URL
  /** Decoded `:name` segments of the matched pattern. */
  readonly params: Readonly<Record<string, string>>
  readonly record: SimulatorRequestRecord
  /**
   * Settles when the request body has ended or was aborted; never rejects. The server reads every
   * body, so a handler that ignores it (a GET with a JSON body from an old cx) still works.
   */
  readonly body: Promise<ReceivedBody>
  readonly sim: SimulatorState
}

export type RouteHandler = (ctx: RequestContext) => void | Promise<void>

export interface RouteMatch {
  readonly handler: RouteHandler
  readonly params: Record<string, string>
}

type Segment = { readonly literal: string } | { readonly param: string }

interface Route {
  readonly method: string
  readonly segments: readonly Segment[]
  readonly handler: RouteHandler
}

/** Matches any method. */
export const ANY = '*'

export class Router {
  readonly #routes: Route[] = []

  /**
   * Registers `handler` for `pattern` such as '/api/3/stacks/:id'. Routes are tried in
   * registration order, so register literal paths ('/users/registry-credentials') before the
   * parameterised ones ('/users/:id') that would also match them.
   */
  on(methods: string | readonly string[], pattern: string, handler: RouteHandler): this {
    const segments = splitPath(pattern).map((s): Segment => (s.startsWith(':') ? { param: s.slice(1) } : { literal: s }))
    for (const method of typeof methods === 'string' ? [methods] : methods) {
      this.#routes.push({ method: method.toUpperCase(), segments, handler })
    }
    return this
  }

  /**
   * Finds the route for a raw (still percent-encoded) pathname. As in Rails, a `.json` format
   * suffix and a trailing slash are ignored, and HEAD is served by the GET route.
   * Throws URIError when a parameter segment has a malformed percent escape.
   */
  match(method: string, pathname: string): RouteMatch | undefined {
    const parts = splitPath(pathname)
    const last = parts.length - 1
    if (last >= 0 && parts[last]!.length > 5 && parts[last]!.endsWith('.json')) {
      parts[last] = parts[last]!.slice(0, -5)
    }
    for (const route of this.#routes) {
      if (route.segments.length !== parts.length) continue
      if (route.method !== method && route.method !== ANY && !(method === 'HEAD' && route.method === 'GET')) continue
      const params = matchSegments(route.segments, parts)
      if (params !== undefined) return { handler: route.handler, params }
    }
    return undefined
  }
}

function splitPath(path: string): string[] {
  const parts = path.split('/')
  parts.shift() // the empty string before the leading '/'
  if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop()
  return parts
}

function matchSegments(segments: readonly Segment[], parts: readonly string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {}
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!
    const part = parts[i]!
    if ('literal' in segment) {
      if (segment.literal !== part) return undefined
    } else {
      if (part === '') return undefined
      params[segment.param] = decodeURIComponent(part)
    }
  }
  return params
}

/** A path parameter the matched pattern guarantees; throws if the route was registered without it. */
export function param(ctx: RequestContext, name: string): string {
  const value = ctx.params[name]
  if (value === undefined) throw new Error(`route has no :${name} parameter`)
  return value
}
