import http from 'node:http'
import { localStore, oauthClientFor } from '../open.js'
import { systemClock } from '../clock.js'
import type { Config, ListenAddress } from '../config/types.js'
import { ConfigError } from '../errors.js'
import { createMetrics } from '../metrics.js'
import type { OAuthClient } from '../oauth/client.js'
import { StoreError, type TokenStore } from '../store/types.js'
import { LocalTokenSources } from '../tokens/local-sources.js'
import { Refresher } from '../tokens/refresh.js'
import { TokenService } from '../tokens/token-service.js'

export interface LocalContext {
  readonly config: Config
  readonly store: TokenStore
  readonly oauth: OAuthClient | undefined
  readonly tokens: TokenService
  close(): Promise<void>
}

/** What the CLI commands share with `serve`: the same store, OAuth client and token lookup. */
export async function openLocal(config: Config): Promise<LocalContext> {
  const store = localStore(config, systemClock)
  await checkStoreOrExit(store)
  const oauth = await oauthClientFor(config, systemClock)
  const metrics = createMetrics()
  const refresher = new Refresher(store, oauth, systemClock, { outcome: () => undefined, coalesced: () => undefined })
  const tokens = new TokenService({
    store,
    sources: new LocalTokenSources(config),
    refresher,
    clock: systemClock,
    metrics,
    refreshSkewMs: config.refreshSkewMs,
  })
  return {
    config,
    store,
    oauth,
    tokens,
    async close() {
      tokens.close()
      await store.close()
    },
  }
}

/** A store that cannot be read or decrypted stops the command with the store's own message. */
export async function checkStoreOrExit(store: TokenStore): Promise<void> {
  try {
    await store.check()
  } catch (err) {
    if (err instanceof StoreError || err instanceof ConfigError) exitWith(err.message)
    throw err
  }
}

export function exitWith(message: string, code = 1): never {
  process.stderr.write(`c66-proxy: ${message}\n`)
  process.exit(code)
}

export const hostPort = (host: string, port: number): string => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`)

/**
 * Whether `url` answers 2xx within a second. node:http rather than fetch: against a peer that
 * accepts and at once hangs up, undici's fetch never settled and, with only an unref'd timer
 * left, the command ended with exit code 13 (unsettled top-level await) instead of an answer.
 */
export function probe(url: string, timeoutMs = 1_000, socketPath?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs, ...(socketPath !== undefined ? { socketPath } : {}) }, (res) => {
      res.resume()
      resolve(res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300)
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(false))
  })
}

/** How the listen address is written back to people: HOST:PORT, or unix:/PATH. */
export function listenLabel(listen: ListenAddress): string {
  return listen.socket !== undefined ? `unix:${listen.socket}` : hostPort(listen.host, listen.port)
}

/** A JSON document from the running proxy's own endpoints (`/-/budget`), or undefined when none answers it. */
export function fetchProxyJson(listen: ListenAddress, path: string, timeoutMs = 1_000): Promise<unknown> {
  const host = listen.socket !== undefined ? 'localhost' : ['0.0.0.0', '::'].includes(listen.host) ? 'localhost' : listen.host
  const url = listen.socket !== undefined ? `http://localhost${path}` : `http://${hostPort(host, listen.port)}${path}`
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs, ...(listen.socket !== undefined ? { socketPath: listen.socket } : {}) }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => {
        text += c
        if (text.length > 65_536) req.destroy()
      })
      res.on('end', () => {
        try {
          resolve(res.statusCode === 200 ? (JSON.parse(text) as unknown) : undefined)
        } catch {
          resolve(undefined)
        }
      })
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(undefined))
  })
}

/**
 * Whether a proxy answers /-/healthz at the listen address. A wildcard address is reached through
 * loopback, and a socket with Host: localhost, as the guards expect.
 */
export function probeProxy(listen: ListenAddress): Promise<boolean> {
  if (listen.socket !== undefined) return probe('http://localhost/-/healthz', 1_000, listen.socket)
  const host = ['0.0.0.0', '::'].includes(listen.host) ? 'localhost' : listen.host
  return probe(`http://${hostPort(host, listen.port)}/-/healthz`)
}
