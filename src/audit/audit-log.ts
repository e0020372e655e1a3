import { createWriteStream, type WriteStream } from 'node:fs'
import { mkdir, open } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { Clock } from '../clock.js'
import type { AuditKeys } from './audit-key.js'
import { linesBackwards } from './lines.js'
import { parseRecord, serialize, toRecord, type AuditEntry, type ChainHead } from './record.js'

export interface AuditLogOptions {
  /** A file path, or `-` for standard output. */
  readonly destination: string
  /** This replica's id; each replica keeps its own MAC chain in the file. */
  readonly replica: string
  readonly clock: Clock
  /** New lines are MACed with `keys.current`; `open` continues a chain only from a line these keys verify. */
  readonly keys: AuditKeys
  /** Where `-` writes (default process.stdout). Never ended by `close()`. */
  readonly stdout?: NodeJS.WritableStream
  /** Told about every failed or dropped write; the request path never sees them. */
  readonly onError?: (err: Error) => void
  /** Where this replica's chain stands in the file (`open` finds it). Default: a new chain. */
  readonly continueFrom?: ChainHead
  /** Records waiting for the disk beyond this many bytes are dropped (and reported). Default 16 MiB. */
  readonly maxBufferedBytes?: number
}

const DEFAULT_MAX_BUFFERED = 16 * 1024 * 1024

/**
 * The tamper-evident audit log: one canonical JSON line per record, appended, each line MACed under
 * a key derived from the gateway secret and each replica's records chained by `prev`/`mac` (see
 * record.ts and verify.ts). Several replicas may append to one file; each line goes out in a
 * single write on an O_APPEND descriptor, so lines do not interleave.
 *
 * `write` never blocks and never throws: failures are counted (`errors`) and passed to `onError`.
 * A record that could not be written still advances the chain, so the gap shows up in
 * `c66-proxy audit verify` instead of vanishing silently.
 *
 * On standard output every start begins a new chain at seq 1 (`verify` accepts a seq-1 line with
 * prev null as a restart); with a file, `AuditLog.open` continues this replica's chain.
 */
export class AuditLog {
  readonly destination: string
  readonly replica: string
  readonly #clock: Clock
  readonly #keys: AuditKeys
  readonly #stdout: NodeJS.WritableStream
  readonly #onError: (err: Error) => void
  readonly #maxBuffered: number
  #head: ChainHead | undefined
  #stream: NodeJS.WritableStream | undefined
  #pending = 0
  #buffered = 0
  #idle: Array<() => void> = []
  #errors = 0
  #closed = false

  constructor(options: AuditLogOptions) {
    if (options.replica === '') throw new Error('an audit log needs a replica id')
    this.destination = options.destination
    this.replica = options.replica
    this.#clock = options.clock
    this.#keys = options.keys
    this.#stdout = options.stdout ?? process.stdout
    this.#onError = options.onError ?? (() => undefined)
    this.#maxBuffered = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED
    this.#head = options.continueFrom
  }

  /**
   * Creates the directory (0700) if missing, finds this replica's last record in the file to
   * continue its chain (a new chain at seq 1 if that line is not a record the keys verify), and
   * opens the file (0600, append). Fails (at start-up, not per request) when the file cannot be
   * opened.
   */
  static async open(options: AuditLogOptions): Promise<AuditLog> {
    if (options.destination === '-') return new AuditLog(options)
    await mkdir(dirname(options.destination), { recursive: true, mode: 0o700 })
    const { head, needsNewline } = await findChainHead(options.destination, options.replica, options.keys)
    const log = new AuditLog({ ...options, ...(head === undefined ? {} : { continueFrom: head }) })
    const stream = createWriteStream(options.destination, { flags: 'a', mode: 0o600 })
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => (stream.off('error', reject), resolve()))
      stream.once('error', reject)
    })
    log.#attach(stream)
    // A cut last line (a write torn by a crash) stays as evidence; our lines start on a line of their own.
    if (needsNewline) log.#send('\n')
    return log
  }

  /** Where this replica's chain stands: the last record written (or found), if any. */
  get head(): ChainHead | undefined {
    return this.#head
  }

  /** Writes that failed or were dropped since start. */
  get errors(): number {
    return this.#errors
  }

  write(entry: AuditEntry): void {
    try {
      if (this.#closed) throw new Error('audit log is closed')
      const record = toRecord(entry, { time: new Date(this.#clock.now()).toISOString(), replica: this.replica, head: this.#head, key: this.#keys.current })
      this.#head = { seq: record.seq, mac: record.mac }
      const line = `${serialize(record)}\n`
      if (this.#buffered + Buffer.byteLength(line) > this.#maxBuffered) {
        this.#fail(new Error(`audit log ${this.#label()} is not keeping up; record seq ${record.seq} dropped`))
        return
      }
      this.#send(line)
    } catch (err) {
      this.#fail(err)
    }
  }

  /** Resolves once every record written so far has been handed to the OS (or has failed). */
  flush(): Promise<void> {
    if (this.#pending === 0) return Promise.resolve()
    return new Promise((resolve) => this.#idle.push(resolve))
  }

  /** Flushes, then closes the file. Standard output is flushed, never ended. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.flush()
    const stream = this.#stream
    this.#stream = undefined
    if (stream === undefined || stream === this.#stdout) return
    await new Promise<void>((resolve) => {
      const file = stream as WriteStream
      if (file.closed || file.destroyed) return resolve()
      file.once('close', () => resolve())
      file.end()
    })
  }

  #label(): string {
    return this.destination === '-' ? '(stdout)' : this.destination
  }

  #fail(err: unknown): void {
    this.#errors += 1
    try {
      this.#onError(err instanceof Error ? err : new Error(String(err)))
    } catch {
      // The reporter's own failure must not reach the request either.
    }
  }

  #attach(stream: NodeJS.WritableStream): void {
    this.#stream = stream
    if (stream === this.#stdout) return
    stream.on('error', (err: Error) => {
      // A broken file stream is dropped; the next write opens a new one, so the log recovers
      // when the cause (a full disk, a removed directory) goes away.
      if (this.#stream === stream) this.#stream = undefined
      this.#fail(err)
    })
  }

  #streamForWrite(): NodeJS.WritableStream {
    if (this.#stream === undefined) {
      this.#attach(this.destination === '-' ? this.#stdout : createWriteStream(this.destination, { flags: 'a', mode: 0o600 }))
    }
    return this.#stream as NodeJS.WritableStream
  }

  #send(line: string): void {
    const stream = this.#streamForWrite()
    const bytes = Buffer.byteLength(line)
    this.#pending += 1
    this.#buffered += bytes
    let settled = false
    const done = (err?: Error | null) => {
      if (settled) return
      settled = true
      this.#pending -= 1
      this.#buffered -= bytes
      // A file stream's failure is reported once, by its 'error' event; stdout has no listener of ours.
      if (err && stream === this.#stdout) this.#fail(err)
      if (this.#pending === 0) for (const resolve of this.#idle.splice(0)) resolve()
    }
    stream.write(line, done)
  }
}

/**
 * This replica's last record in the file, found by reading backwards from the end (the file may be
 * large; only its tail up to that record is read), and whether the file lacks a final newline.
 * The replica's last line decides: if it is not a version 2 record that `keys` verify (a version 1
 * line, a forged or damaged one, one sealed under an unknown secret), the head is undefined and a
 * new chain starts at seq 1, so the writer never links its lines to something it cannot vouch for.
 */
async function findChainHead(path: string, replica: string, keys: AuditKeys): Promise<{ head: ChainHead | undefined; needsNewline: boolean }> {
  let handle
  try {
    handle = await open(path, 'r')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { head: undefined, needsNewline: false }
    throw err
  }
  try {
    const { size } = await handle.stat()
    let needsNewline = false
    if (size > 0) {
      const last = Buffer.alloc(1)
      await handle.read(last, 0, 1, size - 1)
      needsNewline = last[0] !== 0x0a
    }
    // A cheap byte search first: most lines belong to other replicas and need no parsing. In a
    // canonical line the marker can only be the replica field: quotes inside values are escaped.
    const marker = Buffer.from(`"replica":${JSON.stringify(replica)},`)
    for await (const line of linesBackwards(handle, size)) {
      if (line === undefined || !line.includes(marker)) continue
      const parsed = parseRecord(line.toString('utf8'), keys)
      const ours = 'record' in parsed && parsed.record.replica === replica
      return { head: ours ? { seq: parsed.record.seq, mac: parsed.record.mac } : undefined, needsNewline }
    }
    return { head: undefined, needsNewline }
  } finally {
    await handle.close()
  }
}
