// A TCP relay that makes a loopback upstream look far away: every chunk, in both directions, is
// handed on `delayMs` after it arrived (in order), and so is a half-close (FIN). The bytes are not
// touched, so TLS goes through it end to end.
import net from 'node:net'

export interface DelayRelay {
  readonly port: number
  /** Connections accepted so far. */
  readonly accepted: () => number
  close(): Promise<void>
}

/**
 * Listens on 127.0.0.1:0 and relays each connection to `target` with `delayMs` each way. A new
 * connection also costs one round trip before its first byte moves, as the TCP handshake does
 * over a real network (on loopback, connect() returns at once): what the client sends in that
 * time is held until then.
 */
export async function startDelayRelay(target: { host: string; port: number }, delayMs: number): Promise<DelayRelay> {
  const sockets = new Set<net.Socket>()
  let accepted = 0
  const track = (socket: net.Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  }
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    accepted += 1
    const upstream = net.connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true })
    track(client)
    track(upstream)
    const broken = () => {
      client.destroy()
      upstream.destroy()
    }
    client.on('error', broken)
    upstream.on('error', broken)
    carry(client, upstream, delayMs, performance.now() + 2 * delayMs)
    carry(upstream, client, delayMs, 0)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as net.AddressInfo
  return {
    port,
    accepted: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const socket of sockets) socket.destroy()
      }),
  }
}

/**
 * Copies `from` to `to`, each chunk (and the end) `delayMs` after it arrived but not before
 * `notBefore` + `delayMs`. One timer per direction, for the head of a FIFO queue, keeps the order.
 * When `to` pushes back, `from` is paused until it drains.
 */
function carry(from: net.Socket, to: net.Socket, delayMs: number, notBefore: number): void {
  const queue: Array<{ at: number; chunk: Buffer | undefined }> = []
  let timer: NodeJS.Timeout | undefined
  let waitingForDrain = false
  const arm = () => {
    const head = queue[0]
    if (timer === undefined && head !== undefined) timer = setTimeout(flush, Math.max(0, Math.ceil(head.at - performance.now())))
  }
  const flush = () => {
    timer = undefined
    // Node's millisecond timers can fire a fraction early: within 1 ms is due.
    const now = performance.now() + 1
    while (queue[0] !== undefined && queue[0].at <= now) {
      const { chunk } = queue.shift() as { chunk: Buffer | undefined }
      if (to.destroyed) return
      if (chunk === undefined) {
        to.end()
        continue
      }
      if (!to.write(chunk) && !waitingForDrain) {
        waitingForDrain = true
        from.pause()
        to.once('drain', () => {
          waitingForDrain = false
          from.resume()
        })
      }
    }
    arm()
  }
  const push = (chunk: Buffer | undefined) => {
    queue.push({ at: Math.max(performance.now(), notBefore) + delayMs, chunk })
    arm()
  }
  from.on('data', (chunk: Buffer) => push(chunk))
  from.once('end', () => push(undefined))
  from.once('close', () => {
    // Gone without a FIN of its own (reset): the other side goes too, once what was queued is out.
    if (!from.readableEnded) setTimeout(() => to.destroy(), delayMs)
  })
}
