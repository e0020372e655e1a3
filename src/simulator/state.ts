// Everything one simulator instance owns. Nothing lives at module level, so two simulators in one
// process (parallel tests) never share tokens, budgets, data or records.
import { EventEmitter } from 'node:events'
import { ALL_SCOPES } from './auth.js'
import type { TokenRegistry } from './auth.js'
import { createDataset } from './data.js'
import type { Dataset } from './data.js'
import type { SimulatorOptions, SimulatorRequestRecord } from './index.js'
import { Gates } from './gates.js'
import { OAuthStore } from './oauth-store.js'
import { RateLimiter } from './rate-limit.js'

/** The token a simulator accepts when no `tokens` option is given; it holds every scope. */
export const DEFAULT_TOKEN = 'sim-token'

export interface SimulatorState {
  readonly tokens: TokenRegistry
  /** Clients, codes and issued tokens of the OAuth endpoints; `tokens` is its registry. */
  readonly oauth: OAuthStore
  readonly limiter: RateLimiter
  readonly data: Dataset
  /** Origin of the fake S3 bucket, without a trailing slash. */
  readonly s3Origin: string
  readonly records: SimulatorRequestRecord[]
  readonly events: EventEmitter
  /** Test-only /gate/<name> requests wait here until the test opens their gate. */
  readonly gates: Gates
  /** The simulator's own origin; known only once the server listens. */
  origin: string
  /** Adds a finished request record and announces it. */
  record(record: SimulatorRequestRecord): void
}

export function createState(options: SimulatorOptions): SimulatorState {
  const budget = options.budgetPerToken ?? 3000
  const windowMs = options.budgetWindowMs ?? 3_600_000
  const maxRecords = options.maxRecords ?? 50_000
  if (!Number.isInteger(budget) || budget < 0) throw new TypeError('budgetPerToken must be an integer >= 0')
  if (!(windowMs > 0)) throw new TypeError('budgetWindowMs must be > 0')
  if (!Number.isInteger(maxRecords) || maxRecords < 0) throw new TypeError('maxRecords must be an integer >= 0')
  const s3Origin = new URL(options.s3Origin ?? 'https://c66-sim-bucket.s3.amazonaws.com').origin

  // The OAuth store owns the registry: issued tokens become API tokens, and expiry and
  // refresh-token rotation hook into the API's token check.
  const oauth = new OAuthStore(options)
  const tokens = oauth.tokens
  for (const [token, scopes] of Object.entries(options.tokens ?? { [DEFAULT_TOKEN]: ALL_SCOPES })) {
    tokens.set(token, scopes)
  }

  const records: SimulatorRequestRecord[] = []
  const events = new EventEmitter()
  return {
    tokens,
    oauth,
    // The test's clock, when it gives one, so that a budget window can pass without waiting.
    limiter: new RateLimiter(budget, windowMs, options.clock === undefined ? Date.now : () => options.clock?.now() ?? Date.now()),
    data: createDataset(),
    s3Origin,
    records,
    events,
    gates: new Gates(),
    origin: '',
    record(record) {
      if (maxRecords > 0) {
        // shift() on a large array is O(1) in V8 (it trims the backing store in place).
        if (records.length >= maxRecords) records.shift()
        records.push(record)
      }
      events.emit('request', record)
    },
  }
}
