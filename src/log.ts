import { pino, type Logger, type DestinationStream } from 'pino'
import type { LogLevel } from './config/types.js'

export type { Logger }

/**
 * JSON logs on standard output. Tokens are held in Secret objects that serialise to a
 * fingerprint, so redaction is by construction; the paths below are a second net for
 * anything that carries headers.
 */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'c66-proxy' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: ['*.authorization', '*.cookie', '*.headers.authorization', '*.headers.cookie', 'token', '*.token'],
        censor: '[redacted]',
      },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  )
}
