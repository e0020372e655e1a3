import type Koa from 'koa'
import type { CallerInfo } from '../gateway/types.js'
import type { ForwardResult } from './forward/flight.js'

export type { CallerInfo }

/**
 * What the handlers tell the observer about a request (Koa's `ctx.state`): the edge sets the
 * route label and client, the proxy handler the caller and the forwarding result, and the
 * observer writes them into the request's log line, metrics and audit record.
 */
export interface RequestState {
  /** Made on first use: requestIdOf(). */
  requestId?: string
  route: string
  result?: ForwardResult
  /** Set once the caller is identified (gateway: the member and key). */
  caller?: CallerInfo
  /** The stack a request is about, for the audit log. */
  stackId?: string
  /** The client's address (gateway): X-Forwarded-For from a trusted front, else the peer. */
  client?: string
}

/** Koa's context with the state above: the one type every handler of the proxy takes. */
export type ProxyContext = Koa.ParameterizedContext<RequestState>
export type ProxyMiddleware = Koa.Middleware<RequestState>
