import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Clock } from '../clock.js'
import { StoreError } from '../store/types.js'
import { hashKey, newKey, newKeyId } from './key-format.js'
import type { TokenStore } from '../store/types.js'
import type { Caller, KeyPolicy, KeyRecord, Member, Session } from './types.js'

const NS = {
  member: 'member',
  key: 'key',
  keyHash: 'keyhash',
  keyUsed: 'keyused',
  session: 'session',
  // Tombstones, written before the change they record and never deleted: see the class comment.
  keyRevoked: 'keyrevoked',
  memberRemoved: 'memberremoved',
} as const
const CHANNEL = 'c66p-invalidate'
/**
 * A cached key or member is re-read after this long even without an invalidation message. Redis
 * announces revocations to every replica at once; the file store cannot reach other processes
 * (the CLI), so its entries are re-read every second instead.
 */
const FRESH_MS = { redis: 30_000, other: 1_000 }
/** lastUsedAt is written at most this often per key: it is a hint, not an audit record. */
const TOUCH_EVERY_MS = 60_000

/** A revocation or removal: when, and the version of the record it ended. */
interface Tombstone {
  readonly at: number
  readonly version: number
}

function withTombstone(record: KeyRecord, revokedAt: number | undefined): KeyRecord {
  return revokedAt !== undefined && record.revokedAt === undefined ? { ...record, revokedAt } : record
}

/**
 * Announced to every replica. `id` and `version` (the lowest version still believed) let replicas
 * that never read the ended record refuse an older copy of it; they only ever make a replica
 * stricter, so a forged message can do no more than anyone with write access to the store.
 */
type Invalidation = { type: 'key'; hash: string; id?: string; version?: number } | { type: 'member'; id: string; version?: number }

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
 *
 * Records are sealed under names (a record cannot be moved to another name), but someone with
 * write access to the store can put back a value it once held: the key record from before its
 * revocation, a removed member. So revocations and removals leave tombstones that are never
 * deleted and are checked on every read (a revoked key stays revoked whatever its record says; a
 * member record is only believed if its version is above the removal's), and every record carries
 * a version raised by each write, of which each replica remembers the highest it has seen: an
 * older value read back later is refused even if the tombstone was deleted as well.
 */
export class Directory {
  readonly #keys = new Map<string, Cached<KeyRecord | null>>()
  readonly #members = new Map<string, Cached<Member | null>>()
  readonly #touched = new Map<string, number>()
  /** The highest record version seen, by `key:<id>` / `member:<id>`. */
  readonly #versions = new Map<string, number>()
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
    const member: Member = {
      id,
      kind: existing?.kind ?? kind,
      createdAt: existing?.createdAt ?? this.clock.now(),
      lastLoginAt: this.clock.now(),
      version: await this.#nextMemberVersion(id, existing),
    }
    await this.store.putDoc(NS.member, id, JSON.stringify(member))
    this.#members.set(id, { value: member, fetchedAt: this.clock.now() })
    return member
  }

  /** Creates the bot `id` unless it exists; `created` says which (the audit log records additions). */
  async addServiceMember(id: string): Promise<{ member: Member; created: boolean }> {
    const existing = await this.#readMember(id)
    if (existing) return { member: existing, created: false }
    const member: Member = { id, kind: 'service', createdAt: this.clock.now(), lastLoginAt: undefined, version: await this.#nextMemberVersion(id, undefined) }
    await this.store.putDoc(NS.member, id, JSON.stringify(member))
    // A lookup made before it existed may have cached "no such member".
    this.#members.set(id, { value: member, fetchedAt: this.clock.now() })
    return { member, created: true }
  }

  async member(id: string): Promise<Member | undefined> {
    return (await this.#cachedMember(id)) ?? undefined
  }

  async listMembers(): Promise<Member[]> {
    const [docs, removed] = await Promise.all([this.store.listDocs(NS.member), this.store.listDocs(NS.memberRemoved)])
    const removedAt = new Map(removed.map((d) => [d.id, (JSON.parse(d.value) as Tombstone).version]))
    return docs
      .map((d) => JSON.parse(d.value) as Member)
      .filter((m) => (m.version ?? 0) > (removedAt.get(m.id) ?? -1))
      .sort((a, b) => a.id.localeCompare(b.id))
  }

  /** Removes the member, revokes every key of theirs and deletes their Cloud 66 token. */
  async removeMember(id: string): Promise<boolean> {
    const current = await this.#readMember(id)
    const tombstone: Tombstone = { at: this.clock.now(), version: Math.max(current?.version ?? 0, await this.#removedVersion(id)) }
    await this.store.putDoc(NS.memberRemoved, id, JSON.stringify(tombstone))
    const existed = await this.store.deleteDoc(NS.member, id)
    for (const key of await this.listKeys(id)) await this.revokeKey(key.id)
    const hadToken = await this.store.deleteToken(id)
    await this.#announce({ type: 'member', id, version: tombstone.version + 1 })
    return existed || hadToken
  }

  // ── keys ─────────────────────────────────────────────────────────────────────────────────

  /** Returns the key itself exactly once; the store keeps only its hash. */
  async createKey(memberId: string, options: NewKeyOptions): Promise<{ record: KeyRecord; key: string }> {
    const key = newKey()
    const record: KeyRecord = {
      id: newKeyId(),
      memberId,
      label: options.label,
      hash: hashKey(key),
      createdAt: this.clock.now(),
      expiresAt: options.expiresAt,
      revokedAt: undefined,
      lastUsedAt: undefined,
      policy: options.policy,
      version: 1,
    }
    await this.store.putDoc(NS.key, record.id, JSON.stringify(record))
    await this.store.putDoc(NS.keyHash, record.hash, record.id)
    return { record, key }
  }

  async listKeys(memberId?: string): Promise<KeyRecord[]> {
    const [docs, used, revoked] = await Promise.all([this.store.listDocs(NS.key), this.store.listDocs(NS.keyUsed), this.store.listDocs(NS.keyRevoked)])
    const lastUsed = new Map(used.map((u) => [u.id, Number(u.value)]))
    const revokedAt = new Map(revoked.map((d) => [d.id, (JSON.parse(d.value) as Tombstone).at]))
    return docs
      .map((d) => withTombstone(JSON.parse(d.value) as KeyRecord, revokedAt.get(d.id)))
      .filter((k) => memberId === undefined || k.memberId === memberId)
      .map((k) => ({ ...k, lastUsedAt: lastUsed.get(k.id) ?? k.lastUsedAt }))
      .sort((a, b) => a.createdAt - b.createdAt)
  }

  /** The key's record, revoked if a tombstone says so whatever the record says. */
  async getKey(id: string): Promise<KeyRecord | undefined> {
    const [doc, tombstone] = await Promise.all([this.store.getDoc(NS.key, id), this.store.getDoc(NS.keyRevoked, id)])
    if (doc === undefined) return undefined
    return withTombstone(JSON.parse(doc) as KeyRecord, tombstone === undefined ? undefined : (JSON.parse(tombstone) as Tombstone).at)
  }

  /** Marks the key revoked (kept for the audit trail) and tells every replica to drop it. */
  async revokeKey(id: string): Promise<KeyRecord | undefined> {
    const key = await this.getKey(id)
    if (!key) return undefined
    const at = key.revokedAt ?? this.clock.now()
    const version = (key.version ?? 0) + 1
    const revoked: KeyRecord = { ...key, revokedAt: at, version }
    // The tombstone first: a crash after it leaves the key revoked.
    if (key.revokedAt === undefined) await this.store.putDoc(NS.keyRevoked, id, JSON.stringify({ at, version } satisfies Tombstone))
    await this.store.putDoc(NS.key, id, JSON.stringify(revoked))
    await this.store.deleteDoc(NS.keyHash, key.hash)
    await this.#announce({ type: 'key', hash: key.hash, id, version })
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
      const record = id === undefined ? undefined : await this.getKey(id)
      return record !== undefined && this.#notOlder(`key:${record.id}`, record.version) ? record : null
    })
  }

  async #cachedMember(id: string): Promise<Member | null> {
    return this.#cached(this.#members, id, async () => (await this.#readMember(id)) ?? null)
  }

  /** The member, unless removed after this record was written or older than one seen before. */
  async #readMember(id: string): Promise<Member | undefined> {
    const [doc, removed] = await Promise.all([this.store.getDoc(NS.member, id), this.#removedVersion(id)])
    if (doc === undefined) return undefined
    const member = JSON.parse(doc) as Member
    return (member.version ?? 0) > removed && this.#notOlder(`member:${id}`, member.version) ? member : undefined
  }

  /** The version of the member record the last removal removed (-1: never removed). */
  async #removedVersion(id: string): Promise<number> {
    const doc = await this.store.getDoc(NS.memberRemoved, id)
    return doc === undefined ? -1 : (JSON.parse(doc) as Tombstone).version
  }

  async #nextMemberVersion(id: string, existing: Member | undefined): Promise<number> {
    return Math.max(existing?.version ?? 0, await this.#removedVersion(id)) + 1
  }

  /**
   * Whether `version` is at least the highest this replica has seen for `name`; raises the mark.
   * Bounded like the caches (the oldest marks go first).
   */
  #notOlder(name: string, version: number | undefined): boolean {
    const v = version ?? 0
    const seen = this.#versions.get(name)
    if (seen !== undefined && v < seen) return false
    this.#raise(name, v)
    return true
  }

  #raise(name: string, version: number): void {
    if ((this.#versions.get(name) ?? -1) >= version) return
    this.#versions.set(name, version)
    if (this.#versions.size > 100_000) this.#versions.delete(this.#versions.keys().next().value as string)
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
    if (message.id !== undefined && message.version !== undefined && Number.isSafeInteger(message.version))
      this.#raise(`${message.type}:${message.id}`, message.version)
    if (message.type === 'key') this.#keys.delete(message.hash)
    else {
      this.#members.delete(message.id)
      for (const [hash, cached] of this.#keys) if (cached.value?.memberId === message.id) this.#keys.delete(hash)
      this.onMemberInvalidated(message.id)
    }
  }
}
