import { ProxyError, type ProxyErrorCode } from '../../errors.js'

/** Codes the forwarder gives the errors it raises itself when a timer fires. */
export const CONNECT_TIMEOUT = 'C66_CONNECT_TIMEOUT'
export const RESPONSE_TIMEOUT = 'C66_RESPONSE_TIMEOUT'
export const IDLE_TIMEOUT = 'C66_IDLE_TIMEOUT'
/** The caller's streamed body fell behind --request-body-timeout / --min-upload-rate: a 408, not an upstream fault. */
export const BODY_TIMEOUT = 'C66_BODY_TIMEOUT'
/** Cloud 66's answer was not one the proxy can pass on (a 101, a stray 1xx, a status out of range, a script URL). */
export const BAD_UPSTREAM = 'C66_BAD_UPSTREAM'

export function timeoutError(code: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(code)
  err.code = code
  return err
}

type Mapping = readonly [status: number, code: ProxyErrorCode, reason: string, message: string]

const TIMEOUT_CONNECT: Mapping = [504, 'upstream_timeout', 'connect_timeout', 'Cloud 66 did not accept the connection in time']
const TIMEOUT_RESPONSE: Mapping = [504, 'upstream_timeout', 'response_timeout', 'Cloud 66 did not answer in time']
const UNREACHABLE: Mapping = [502, 'upstream_unreachable', 'refused', 'Cloud 66 could not be reached']
const DNS: Mapping = [502, 'upstream_dns', 'dns', 'The Cloud 66 host name could not be resolved']
const TLS: Mapping = [502, 'upstream_tls', 'tls', 'The TLS connection to Cloud 66 failed']
const RESET: Mapping = [502, 'upstream_reset', 'reset', 'Cloud 66 closed the connection before answering']
const BAD: Mapping = [502, 'bad_upstream', 'bad_upstream', 'Cloud 66 sent an answer that is not valid HTTP or that the proxy does not pass on']
const SLOW_BODY: Mapping = [408, 'body_timeout', 'body_timeout', 'The request body arrived too slowly (see --request-body-timeout and --min-upload-rate)']

const BY_CODE: Readonly<Record<string, Mapping>> = {
  [CONNECT_TIMEOUT]: TIMEOUT_CONNECT,
  [RESPONSE_TIMEOUT]: TIMEOUT_RESPONSE,
  [IDLE_TIMEOUT]: TIMEOUT_RESPONSE,
  [BODY_TIMEOUT]: SLOW_BODY,
  [BAD_UPSTREAM]: BAD,
  ETIMEDOUT: TIMEOUT_CONNECT,
  ECONNREFUSED: UNREACHABLE,
  EHOSTUNREACH: UNREACHABLE,
  ENETUNREACH: UNREACHABLE,
  EADDRNOTAVAIL: UNREACHABLE,
  ENOTFOUND: DNS,
  EAI_AGAIN: DNS,
  ECONNRESET: RESET,
  EPIPE: RESET,
  EPROTO: TLS,
}

/**
 * Turns a transport failure into the proxy's own error. The original error stays as `cause`
 * for the log; its message is never shown to the caller.
 */
export function classifyUpstreamError(err: NodeJS.ErrnoException): { error: ProxyError; reason: string } {
  const code = err.code ?? ''
  // HPE_*: Node's HTTP parser refused what Cloud 66 (or something between) sent.
  const mapping = BY_CODE[code] ?? (code.startsWith('HPE_') ? BAD : isTlsCode(code) ? TLS : RESET)
  const [status, errorCode, reason, message] = mapping
  // A slow body's connection is closed after the answer: the rest of the body is never read.
  const headers = mapping === SLOW_BODY ? { Connection: 'close' } : undefined
  return { error: new ProxyError(errorCode, status, message, { cause: err, ...(headers ? { headers } : {}) }), reason }
}

function isTlsCode(code: string): boolean {
  return (
    code.startsWith('ERR_TLS') ||
    code.startsWith('ERR_SSL') ||
    code.includes('CERT') ||
    code.includes('SELF_SIGNED') ||
    code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'
  )
}
