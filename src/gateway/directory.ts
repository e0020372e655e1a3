import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Clock } from '../clock.js'
import { StoreError } from '../store/types.js'
import { hashKey, newKey, newKeyId } from './key-format.js'
import type { TokenStore } from '../store/types.js'
import type { Caller, KeyPolicy, KeyRecord, Member, Session } from './types.js'

const NS = { member: 'member', key: 'key', keyHash: 'keyhash', keyUsed: 'keyused', session: 'session' } as const
const CHANNEL = 'c66p-invalidate'
/**
 * A cached key or member is re-read after this long even without an invalidation message. Redis
 * announces revocations to every replica at once; the file store cannot reach other processes
 * (the CLI), so its entries are re-read every second instead.
 */
const FRESH_MS = { redis: 30_000, other: 1_000 }
/** lastUsedAt is written at most this often per key: it is a hint, not an audit record. */
const TOUCH_EVERY_MS = 60_000

type Invalidation = { type: 'key'; hash: string } | { type: 'member'; id: string }

interface Cached<T> {
  readonly value: T
  readonly fetchedAt: number
}

export interface NewKeyOptions {
  readonly label: string
  readonly expiresAt: number | undefined
  readonly policy: KeyPolicy
}

export const OPEN_POLICY: KeyPolicy = { readOnly: false, methods: undefined, allowPaths: undefined, denyPaths: undefined, stackIds: undefined }

/**
 * Members, gateway keys and sessions, kept as documents in the shared store. Lookups on the hot
 * path (key → member) are cached in memory; a revoked key or removed member is announced on the
 * store's invalidation channel so every replica drops it at once. While the store is unreachable,
 * cached entries keep working for the outage grace period, then identification fails closed.
 */
export class Directory {
  readonly #keys = new Map<string, Cached<KeyRecord | null>>()
  readonly #members = new Map<string, Cached<Member | null>>()
  readonly #touched = new Map<string, number>()
  readonly #pending = new Set<Promise<void>>()
  readonly #unsubscribe: () => void
  readonly #sessionKey: Buffer
  readonly #freshMs: number

  constructor(
    private readonly store: TokenStore,
    private readonly clock: Clock,
    private readonly graceMs: number,
    /** Called when a member's cached state must go (their token cache, for instance). */
    private readonly onMemberInvalidated: (memberId: string) => void,
    sessionSecret: Buffer,
  ) {
    this.#sessionKey = sessionSecret
    // Never trusted for longer than the outage grace period without asking the store: a fresh entry
    // is served without a store round trip, so an outage goes unnoticed while it is fresh, and with
    // `--store-outage-grace 2s` a cached member kept working for the whole 30 s of FRESH_MS.redis.
    this.#freshMs = Math.min(store.kind === 'redis' ? FRESH_MS.redis : FRESH_MS.other, graceMs)
    this.#unsubscribe = store.bus.subscribe(CHANNEL, (message) => this.#invalidate(message))
  }

  /**
   * Stops listening for invalidations and waits for the last-used hints still being written: they
   * are fire-and-forget on the hot path, and one that outlived close() went on writing into the
   * store (a temporary file beside store.json) after the app had closed it.
   */
  async close(): Promise<void> {
    this.#unsubscribe()
    await Promise.all(this.#pending)
  }

  // ── members ──────────────────────────────────────────────────────────────────────────────

  /** Creates the member on first login; logging in again only updates lastLoginAt (never a second member). */
  async recordLogin(id: string, kind: Member['kind']): Promise<Member> {
    const existing = await this.#readMember(id)
    const member: Member = { id, kind: existing?.kind ?? kind, createdAt: existing?.createdAt ?? this.clock.now(), lastLoginAt: this.clock.now() }
    await this.store.putDoc(NS.member, id, JSON.stringify(member))
    this.#members.set(id, { value: member, fetchedAt: this.clock.now() })
    return member
  }

  /** Creates the bot `id` unless it exists; `created` says which (the audit log records additions). */
  async addServiceMember(id: string): Promise<{ member: Member; created: boolean }> {
    const existing = await this.#readMember(id)
    if (existing) return { member: existing, created: false }
    const member: Member = { id, kind: 'service', createdAt: this.clock.now(), lastLoginAt: undefined }
    await this.store.putDoc(NS.member, id, JSON.stringify(member))
    // A lookup made before it existed may have cached "no such member".
    this.#members.set(id, { value: member, fetchedAt: this.clock.now() })
    return { member, created: true }
  }

  async member(id: string): Promise<Member | undefined> {
    return (await this.#cachedMember(id)) ?? undefined
  }

  async listMembers(): Promise<Member[]> {
    const docs = await this.store.listDocs(NS.member)
    return docs.map((d) => JSON.parse(d.value) as Member).sort((a, b) => a.id.localeCompare(b.id))
  }

  /** Removes the member, revokes every key of theirs and deletes their Cloud 66 token. */
  async removeMember(id: string): Promise<boolean> {
    const existed = await this.store.deleteDoc(NS.member, id)
    for (const key of await this.listKeys(id)) await this.revokeKey(key.id)
    const hadToken = await this.store.deleteToken(id)
    await this.#announce({ type: 'member', id })
    return existed || hadToken
  }

  // ── keys ─────────────────────────────────────────────────────────────────────────────────

  /** Returns the key itself exactly once; the store keeps only its hash. */
  async createKey(memberId: string, options: NewKeyOptions): Promise<{ record: KeyRecord; key: string }> {
    const key = newKey()
    const record: KeyRecord = {
      id: newKeyId(), memberId, label: options.label, hash: hashKey(key), createdAt: this.clock.now(),
      expiresAt: options.expiresAt, revokedAt: undefined, lastUsedAt: undefined, policy: options.policy,
    }
    await this.store.putDoc(NS.key, record.id, JSON.stringify(record))
    await this.store.putDoc(NS.keyHash, record.hash, record.id)
    return { record, key }
  }

  async listKeys(memberId?: string): Promise<KeyRecord[]> {
    const [docs, used] = await Promise.all([this.store.listDocs(NS.key), this.store.listDocs(NS.keyUsed)])
    const lastUsed = new Map(used.map((u) => [u.id, Number(u.value)]))
    return docs
      .map((d) => JSON.parse(d.value) as KeyRecord)
      .filter((k) => memberId === undefined || k.memberId === memberId)
      .map((k) => ({ ...k, lastUsedAt: lastUsed.get(k.id) ?? k.lastUsedAt }))
      .sort((a, b) => a.createdAt - b.createdAt)
  }

  async getKey(id: string): Promise<KeyRecord | undefined> {
    const doc = await this.store.getDoc(NS.key, id)
    return doc === undefined ? undefined : (JSON.parse(doc) as KeyRecord)
  }

  /** Marks the key revoked (kept for the audit trail) and tells every replica to drop it. */
  async revokeKey(id: string): Promise<KeyRecord | undefined> {
    const key = await this.getKey(id)
    if (!key) return undefined
    const revoked: KeyRecord = { ...key, revokedAt: key.revokedAt ?? this.clock.now() }
    await this.store.putDoc(NS.key, id, JSON.stringify(revoked))
    await this.store.deleteDoc(NS.keyHash, key.hash)
    await this.#announce({ type: 'key', hash: key.hash })
    return revoked
  }

  /**
   * The caller behind a presented key, or a reason it is not accepted. Unknown, revoked and
   * expired keys are all `invalid_key` to the caller; the distinction is only for logs.
   */
  async callerForKey(key: string): Promise<Caller | { invalid: 'unknown' | 'revoked' | 'expired' | 'no_member' }> {
    const hash = hashKey(key)
    const record = await this.#cachedKey(hash)
    if (!record) return { invalid: 'unknown' }
    if (record.revokedAt !== undefined) return { invalid: 'revoked' }
    if (record.expiresAt !== undefined && this.clock.now() >= record.expiresAt) return { invalid: 'expired' }
    const member = await this.#cachedMember(record.memberId)
    if (!member) return { invalid: 'no_member' }
    this.#touch(record)
    return { member, key: record }
  }

  // ── sessions ─────────────────────────────────────────────────────────────────────────────

  /** A session id plus its HMAC: a forged cookie is refused without a store round trip. */
  async createSession(memberId: string, ttlMs: number): Promise<string> {
    const id = randomBytes(24).toString('base64url')
    const session: Session = { memberId, createdAt: this.clock.now(), expiresAt: this.clock.now() + ttlMs }
    await this.store.putDoc(NS.session, id, JSON.stringify(session), ttlMs)
    return `${id}.${this.#sign(id)}`
  }

  async session(cookie: string | undefined): Promise<Session | undefined> {
    const id = this.#verifiedSessionId(cookie)
    if (id === undefined) return undefined
    const doc = await this.store.getDoc(NS.session, id)
    const session = doc === undefined ? undefined : (JSON.parse(doc) as Session)
    return session && session.expiresAt > this.clock.now() ? session : undefined
  }

  async endSession(cookie: string | undefined): Promise<void> {
    const id = this.#verifiedSessionId(cookie)
    if (id !== undefined) await this.store.deleteDoc(NS.session, id)
  }

  #sign(id: string): string {
    return createHmac('sha256', this.#sessionKey).update(`session:${id}`).digest('base64url')
  }

  #verifiedSessionId(cookie: string | undefined): string | undefined {
    if (cookie === undefined) return undefined
    const [id, mac] = cookie.split('.')
    if (!id || !mac) return undefined
    const expected = Buffer.from(this.#sign(id))
    const given = Buffer.from(mac)
    return expected.length === given.length && timingSafeEqual(expected, given) ? id : undefined
  }

  // ── caches ───────────────────────────────────────────────────────────────────────────────

  async #cachedKey(hash: string): Promise<KeyRecord | null> {
    return this.#cached(this.#keys, hash, async () => {
      const id = await this.store.getDoc(NS.keyHash, hash)
      return id === undefined ? null : ((await this.getKey(id)) ?? null)
    })
  }

  async #cachedMember(id: string): Promise<Member | null> {
    return this.#cached(this.#members, id, async () => (await this.#readMember(id)) ?? null)
  }

  async #readMember(id: string): Promise<Member | undefined> {
    const doc = await this.store.getDoc(NS.member, id)
    return doc === undefined ? undefined : (JSON.parse(doc) as Member)
  }

  /** Fresh for FRESH_MS; on a store outage, a cached answer is served until the grace period ends. */
  async #cached<T>(map: Map<string, Cached<T | null>>, id: string, load: () => Promise<T | null>): Promise<T | null> {
    const now = this.clock.now()
    const hit = map.get(id)
    if (hit && now - hit.fetchedAt < this.#freshMs) return hit.value
    try {
      const value = await load()
      map.set(id, { value, fetchedAt: now })
      if (map.size > 50_000) map.delete(map.keys().next().value as string)
      return value
    } catch (err) {
      if (err instanceof StoreError && err.code === 'store_unavailable' && hit && now - hit.fetchedAt < this.graceMs) return hit.value
      throw err
    }
  }

  #touch(record: KeyRecord): void {
    const now = this.clock.now()
    if (now - (this.#touched.get(record.id) ?? 0) < TOUCH_EVERY_MS) return
    this.#touched.set(record.id, now)
    // A document of its own, so this write can never race a revocation of the key record.
    const write = this.store.putDoc(NS.keyUsed, record.id, String(now)).catch(() => undefined) // a hint; an outage must not fail the request
    this.#pending.add(write)
    void write.finally(() => this.#pending.delete(write))
  }

  async #announce(message: Invalidation): Promise<void> {
    this.#invalidate(JSON.stringify(message)) // this replica at once, the others through the store
    await this.store.bus.publish(CHANNEL, JSON.stringify(message))
  }

  #invalidate(raw: string): void {
    let message: Invalidation
    try {
      message = JSON.parse(raw) as Invalidation
    } catch {
      return
    }
    if (message.type === 'key') this.#keys.delete(message.hash)
    else {
      this.#members.delete(message.id)
      for (const [hash, cached] of this.#keys) if (cached.value?.memberId === message.id) this.#keys.delete(hash)
      this.onMemberInvalidated(message.id)
    }
  }
}
