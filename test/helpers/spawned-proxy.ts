import http from 'node:http'
import net from 'node:net'
import type { ExecutionContext } from 'ava'
import { cleanEnv, startCli, type RunningCli } from './cli.js'

export interface SpawnedProxy {
  readonly cli: RunningCli
  /** http://127.0.0.1:<port> */
  readonly url: string
  readonly port: number
}

/** Runs the built `c66-proxy serve` on 127.0.0.1:0 against `upstream`; killed when the test ends. */
export async function spawnProxy(t: ExecutionContext, upstream: URL, args: readonly string[] = [], env: Record<string, string> = {}): Promise<SpawnedProxy> {
  const cli = startCli(t, ['serve', '--listen', '127.0.0.1:0', '--upstream', upstream.origin, ...args], cleanEnv(env))
  const match = await cli.waitFor(/listening on (http:\/\/127\.0\.0\.1:(\d+))/)
  return { cli, url: match[1] ?? '', port: Number(match[2]) }
}

export interface StreamedResponse {
  readonly req: http.ClientRequest
  /** Resolves with the response head. */
  readonly head: Promise<http.IncomingMessage>
  /** Resolves once the first body byte has arrived. */
  readonly firstChunk: Promise<void>
  /** Resolves when the body has ended (complete tells whether it ended cleanly), or the request failed. */
  readonly done: Promise<{ body: string; complete: boolean; error: NodeJS.ErrnoException | undefined }>
}

/** A GET on its own connection whose progress the test can watch. */
export function streamGet(url: string): StreamedResponse {
  const req = http.get(url, { agent: false })
  let resolveHead: (res: http.IncomingMessage) => void = () => {}
  let resolveFirst: () => void = () => {}
  const head = new Promise<http.IncomingMessage>((resolve) => (resolveHead = resolve))
  const firstChunk = new Promise<void>((resolve) => (resolveFirst = resolve))
  const done = new Promise<{ body: string; complete: boolean; error: NodeJS.ErrnoException | undefined }>((resolve) => {
    let body = ''
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ body, complete: false, error }))
    req.on('response', (res) => {
      resolveHead(res)
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        body += chunk
        resolveFirst()
      })
      res.on('error', () => {})
      res.on('close', () => resolve({ body, complete: res.complete, error: undefined }))
    })
  })
  return { req, head, firstChunk, done }
}

/** Tries a fresh TCP connection: 'accepted' or the error code (ECONNREFUSED once nobody listens). */
export function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve('accepted')
    })
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'))
  })
}
