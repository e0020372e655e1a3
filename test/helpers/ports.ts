import { createServer, type AddressInfo } from 'node:net'

/**
 * A port the kernel just handed out on 127.0.0.1 and that is free again. Another test may take it
 * before the caller binds it: callers retry with a new one when that happens.
 */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
