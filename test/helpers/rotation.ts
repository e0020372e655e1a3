import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ALL_SCOPES, type Simulator } from '../../src/simulator/index.js'
import { tokenSeenUpstream, until } from './wait.js'

/**
 * A token file the proxy cannot see change: `link` (give it as --token-file) is a symlink into a
 * directory the proxy does not watch, so rewriting `write()` sends no change event, and only an
 * upstream 401 can tell the proxy that its cached token is stale.
 */
export function hiddenTokenFile(scratch: string, initial: string): { link: string; write: (token: string) => void } {
  const elsewhere = join(scratch, 'unwatched')
  mkdirSync(elsewhere, { recursive: true })
  const target = join(elsewhere, 'token')
  writeFileSync(target, initial)
  const link = join(scratch, 'token-link')
  symlinkSync(target, link)
  return { link, write: (token) => writeFileSync(target, token) }
}

export interface Replay {
  readonly status: number
  readonly body: string
  /** Tokens the simulator saw for the request, in order. */
  readonly seen: ReadonlyArray<string | undefined>
  readonly stale: string
  readonly next: string
}

/**
 * Drives the 401 replay path: loads `initial` into the proxy's cache, then rotates the token
 * behind its back (revoked upstream, new one in the file) and sends a small POST. If the cache
 * had already expired the proxy reads the new token first and no 401 happens; then it rotates
 * again and retries, until a request went out with the stale token and was replayed.
 */
export async function provokeReplay(
  sim: Simulator,
  proxyUrl: string,
  file: { write: (token: string) => void },
  initial: string,
  tokenName: (generation: number) => string,
  init: RequestInit = { method: 'POST', body: 'replay me', headers: { 'content-type': 'text/plain' } },
): Promise<Replay> {
  let current = initial
  let generation = 0
  return until('a request answered 401 and replayed with the new token', async () => {
    if ((await tokenSeenUpstream(sim, proxyUrl)) !== current) throw new Error('the proxy does not use the expected token')
    generation += 1
    const next = tokenName(generation)
    sim.setToken(next, ALL_SCOPES)
    sim.revokeToken(current)
    file.write(next)
    const before = sim.requests.length
    const res = await fetch(`${proxyUrl}/api/3/echo`, init)
    const body = await res.text()
    const stale = current
    current = next
    const seen = await until('both attempts to be recorded', async () => {
      const tokens = sim.requests.slice(before).map((r) => r.token)
      return tokens.includes(next) ? tokens : undefined
    })
    return seen[0] === stale ? { status: res.status, body, seen, stale, next } : undefined
  })
}
