import { pino, type Logger, type DestinationStream } from 'pino'
import type { LogLevel } from './config/types.js'

export type { Logger }

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
  // pino's default epoch-millisecond `time`: an ISO string per line cost ~4.5 µs/request (bench profile).
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

/** Writes the per-request lines, a batch at a time. */
export interface RequestLog {
  write(records: readonly object[]): void
}

/**
 * The per-request line, made by pino with the same level, fields and destination as `log`, but
 * written as one block per batch: one write(2) per batch instead of one per line (pino hands each
 * line to its stream as it is made; microbenchmark: ~5 µs per line against ~7). The records are
 * built from fixed fields (method, route template, status, numbers, request id), never headers or
 * tokens, so the redaction pass, another ~1.5 µs per line, has nothing to find and is not run.
 */
export function createRequestLog(log: Logger): RequestLog {
  const destination = (log as unknown as Record<symbol, DestinationStream | undefined>)[pino.symbols.streamSym]
  if (!destination) throw new Error('the logger has no destination stream')
  let block: string[] | undefined
  const gather: DestinationStream = {
    write(line: string) {
      if (block) block.push(line)
      else destination.write(line)
    },
  }
  const lines = pino({ ...common, level: log.level }, gather)
  return {
    write(records) {
      if (!lines.isLevelEnabled('info') || records.length === 0) return
      block = []
      try {
        for (const r of records) lines.info(r, 'request')
      } finally {
        const out = block.join('')
        block = undefined
        destination.write(out)
      }
    },
  }
}
