// src/proxy/forward/upstream-errors.ts, directly: every transport failure the forwarder can meet
// becomes the proxy's own error (status, stable code, metric reason), never with the original
// message. The HTTP-level checks stay in test/proxy/maps-upstream-failures.
import test from 'ava'
import { ProxyError } from '../../src/errors.js'
import { BODY_TIMEOUT, CONNECT_TIMEOUT, IDLE_TIMEOUT, RESPONSE_TIMEOUT, classifyUpstreamError, timeoutError } from '../../src/proxy/forward/upstream-errors.js'

const failure = (code: string | undefined, message = `secret-bearing message for ${String(code)}`): NodeJS.ErrnoException => {
  const err: NodeJS.ErrnoException = new Error(message)
  if (code !== undefined) err.code = code
  return err
}

const CODES: ReadonlyArray<readonly [code: string | undefined, status: number, error: string, reason: string]> = [
  [CONNECT_TIMEOUT, 504, 'upstream_timeout', 'connect_timeout'],
  ['ETIMEDOUT', 504, 'upstream_timeout', 'connect_timeout'],
  [RESPONSE_TIMEOUT, 504, 'upstream_timeout', 'response_timeout'],
  [IDLE_TIMEOUT, 504, 'upstream_timeout', 'response_timeout'],
  [BODY_TIMEOUT, 408, 'body_timeout', 'body_timeout'],
  ['ECONNREFUSED', 502, 'upstream_unreachable', 'refused'],
  ['EHOSTUNREACH', 502, 'upstream_unreachable', 'refused'],
  ['ENETUNREACH', 502, 'upstream_unreachable', 'refused'],
  ['EADDRNOTAVAIL', 502, 'upstream_unreachable', 'refused'],
  ['ENOTFOUND', 502, 'upstream_dns', 'dns'],
  ['EAI_AGAIN', 502, 'upstream_dns', 'dns'],
  ['ECONNRESET', 502, 'upstream_reset', 'reset'],
  ['EPIPE', 502, 'upstream_reset', 'reset'],
  ['EPROTO', 502, 'upstream_tls', 'tls'],
  // TLS failures by family: Node's ERR_TLS_* and ERR_SSL_*, and OpenSSL's certificate verdicts.
  ['ERR_TLS_CERT_ALTNAME_INVALID', 502, 'upstream_tls', 'tls'],
  ['ERR_TLS_HANDSHAKE_TIMEOUT', 502, 'upstream_tls', 'tls'],
  ['ERR_SSL_WRONG_VERSION_NUMBER', 502, 'upstream_tls', 'tls'],
  ['ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', 502, 'upstream_tls', 'tls'],
  ['DEPTH_ZERO_SELF_SIGNED_CERT', 502, 'upstream_tls', 'tls'],
  ['SELF_SIGNED_CERT_IN_CHAIN', 502, 'upstream_tls', 'tls'],
  ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 502, 'upstream_tls', 'tls'],
  ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 502, 'upstream_tls', 'tls'],
  ['CERT_HAS_EXPIRED', 502, 'upstream_tls', 'tls'],
  ['CERT_NOT_YET_VALID', 502, 'upstream_tls', 'tls'],
  // Anything else is a connection that ended before an answer.
  ['ECONNABORTED', 502, 'upstream_reset', 'reset'],
  ['ERR_STREAM_PREMATURE_CLOSE', 502, 'upstream_reset', 'reset'],
  ['EWHATEVER', 502, 'upstream_reset', 'reset'],
  ['', 502, 'upstream_reset', 'reset'],
  [undefined, 502, 'upstream_reset', 'reset'],
]

for (const [code, status, error, reason] of CODES) {
  test(`${code === undefined ? 'an error without a code' : code === '' ? 'an empty code' : code} gives ${status} ${error} (reason ${reason})`, (t) => {
    const err = failure(code)
    const classified = classifyUpstreamError(err)
    t.is(classified.reason, reason)
    t.true(classified.error instanceof ProxyError)
    t.like(classified.error, { status, code: error })
    t.is(classified.error.cause, err, 'the original error stays as the cause, for the log')
    t.false(classified.error.message.includes('secret-bearing'), 'its message is never shown to the caller')
    t.is(classified.error.reason, undefined, 'a failure, not a refusal: counted where it happens')
  })
}

test('only a slow body closes the connection (Connection: close), so the rest of it is never read', (t) => {
  t.deepEqual(classifyUpstreamError(failure(BODY_TIMEOUT)).error.headers, { Connection: 'close' })
  for (const code of [CONNECT_TIMEOUT, RESPONSE_TIMEOUT, 'ECONNREFUSED', 'ENOTFOUND', 'EPROTO', 'ECONNRESET']) {
    t.deepEqual(classifyUpstreamError(failure(code)).error.headers, {}, code)
  }
})

test("each error's message says what happened, in the proxy's own words", (t) => {
  const message = (code: string) => classifyUpstreamError(failure(code)).error.message
  t.is(message(CONNECT_TIMEOUT), 'Cloud 66 did not accept the connection in time')
  t.is(message(RESPONSE_TIMEOUT), 'Cloud 66 did not answer in time')
  t.is(message('ECONNREFUSED'), 'Cloud 66 could not be reached')
  t.is(message('ENOTFOUND'), 'The Cloud 66 host name could not be resolved')
  t.is(message('EPROTO'), 'The TLS connection to Cloud 66 failed')
  t.is(message('ECONNRESET'), 'Cloud 66 closed the connection before answering')
  t.regex(message(BODY_TIMEOUT), /--request-body-timeout and --min-upload-rate/)
})

test("the forwarder's own timer errors carry their code, and classify as that timeout", (t) => {
  for (const code of [CONNECT_TIMEOUT, RESPONSE_TIMEOUT, IDLE_TIMEOUT, BODY_TIMEOUT]) {
    const err = timeoutError(code)
    t.is(err.code, code)
    t.is(err.message, code)
    t.not(classifyUpstreamError(err).reason, 'reset', code)
  }
})
