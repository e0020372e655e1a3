import { pino, type Logger, type DestinationStream } from 'pino'

export type { Logger }

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent'

let stdout: ReturnType<typeof pino.destination> | undefined

/**
 * Standard output, written synchronously (pino's own default; Node writes stdout to files and
 * pipes synchronously too). The per-request lines, the bulk of the output, already arrive as one
 * block per batch (createRequestLog), so there is one write(2) per batch. An asynchronous stream
 * cost more here: each write is handed to libuv's thread pool and back, ~20 µs per write
 * (microbenchmark), and lines it still held at exit needed an exit hook. One stream per process.
 */
function stdoutStream(): DestinationStream {
  stdout ??= pino.destination({ dest: 1, sync: true })
  return stdout
}

/** What every line carries, from either logger below. */
const common = {
  base: { service: 'c66-proxy' },
  // pino's default epoch-millisecond `time`: an ISO string per line cost ~4.5 µs/request (CPU profile).
  timestamp: pino.stdTimeFunctions.epochTime,
} as const

/**
 * JSON logs on standard output. Tokens are held in Secret objects that serialise to a
 * fingerprint, so redaction is by construction; the paths below are a second net for
 * anything that carries headers.
 */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      ...common,
      level,
      // Fixed paths only: wildcard paths make pino walk every logged object.
      redact: {
        paths: ['token', 'authorization', 'cookie', 'headers.authorization', 'headers.cookie', 'req.headers.authorization', 'req.headers.cookie'],
        censor: '[redacted]',
      },
    },
    destination ?? stdoutStream(),
  )
}

/** The fields of one request's log line (observe.ts): no header, query or token can be one. */
export interface RequestLine {
  /** Set by the observer when the batch is written (new UUIDs are made there, together). */
  request_id: string | undefined
  /** The client's address, in gateway mode (see clientAddress). */
  readonly client: string | undefined
  readonly method: string
  readonly route: string
  readonly status: number
  readonly duration_ms: number
  readonly bytes_in: number | undefined
  readonly bytes_out: number | undefined
  readonly outcome: string | undefined
}

/** Writes the per-request lines, a batch at a time. */
export interface RequestLog {
  write(lines: readonly RequestLine[]): void
}

/**
 * The per-request line: the same JSON, field for field and in the same order, that
 * `log.info(line, 'request')` writes (a test compares the two), written to the logger's own
 * destination as one block per batch. Not through pino's call: through it, the line cost ~7 µs
 * of CPU per request inside the proxy (`npm run bench`, with and without the line); built directly it
 * costs ~3 µs less (microbenchmark: 1.5 µs against 0.5 µs per line for this one fixed shape).
 * Every string goes through JSON.stringify; the fields never hold a header or token, so there is
 * nothing to redact.
 */
export function createRequestLog(log: Logger): RequestLog {
  const destination = (log as unknown as Record<symbol, DestinationStream | undefined>)[pino.symbols.streamSym]
  if (!destination) throw new Error('the logger has no destination stream')
  const level = pino.levels.values['info'] ?? 30
  const bindings = JSON.stringify(common.base).slice(1, -1)
  return {
    write(lines) {
      if (lines.length === 0 || !log.isLevelEnabled('info')) return
      const head = `{"level":${level},"time":${Date.now()},${bindings}`
      let block = ''
      for (const r of lines) {
        // Fields pino would leave out (undefined) are left out; a number pino would write as null is null.
        block +=
          head +
          (r.request_id === undefined ? '' : `,"request_id":${JSON.stringify(r.request_id)}`) +
          (r.client === undefined ? '' : `,"client":${JSON.stringify(r.client)}`) +
          `,"method":${JSON.stringify(r.method)},"route":${JSON.stringify(r.route)},"status":${num(r.status)},"duration_ms":${num(r.duration_ms)}` +
          (r.bytes_in === undefined ? '' : `,"bytes_in":${num(r.bytes_in)}`) +
          (r.bytes_out === undefined ? '' : `,"bytes_out":${num(r.bytes_out)}`) +
          (r.outcome === undefined ? '' : `,"outcome":${JSON.stringify(r.outcome)}`) +
          ',"msg":"request"}\n'
      }
      destination.write(block)
    },
  }
}

/** A number as pino writes it: JSON has no NaN or Infinity. */
const num = (n: number): number | null => (Number.isFinite(n) ? n : null)
