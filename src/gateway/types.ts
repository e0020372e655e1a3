/** A person (logged in with Cloud 66, or named by the SSO proxy's header) or a named bot. */
export interface Member {
  /** `cloud66:<resource_owner_id>`, `sso:<e-mail>` named by the SSO proxy's identity header, or `service:<name>` for bots. */
  readonly id: string
  readonly kind: 'person' | 'service'
  readonly createdAt: number
  readonly lastLoginAt: number | undefined
  /** Raised by every write (absent in records written before versions: 0). See Directory. */
  readonly version?: number
}

/** Per-key limits, checked before anything reaches Cloud 66. */
export interface KeyPolicy {
  readonly readOnly: boolean
  /** Upper-case methods; undefined: any. */
  readonly methods: readonly string[] | undefined
  /** Path rules (same syntax as --deny-path); when set, a request must match one. */
  readonly allowPaths: readonly string[] | undefined
  readonly denyPaths: readonly string[] | undefined
  /** Stack ids (the `:id` of /stacks/:id/…); when set, only these stacks, and no stack-less endpoints. */
  readonly stackIds: readonly string[] | undefined
}

/** A gateway key as stored: only its SHA-256 hash, never the key. */
export interface KeyRecord {
  readonly id: string
  readonly memberId: string
  readonly label: string
  /** Hex SHA-256 of the whole key string. */
  readonly hash: string
  readonly createdAt: number
  readonly expiresAt: number | undefined
  readonly revokedAt: number | undefined
  readonly lastUsedAt: number | undefined
  readonly policy: KeyPolicy
  /** Raised by every write (absent in records written before versions: 0). See Directory. */
  readonly version?: number
}

export interface Session {
  readonly memberId: string
  readonly createdAt: number
  readonly expiresAt: number
}

/** Who is calling, once identified. */
export interface Caller {
  readonly member: Member
  /** The key used, or undefined when the SSO identity header identified the caller. */
  readonly key: KeyRecord | undefined
}

/** Who is calling: local mode's one user, or a gateway member (with the key they used). */
export interface CallerInfo {
  /** The token store's caller id: `local`, or the member id. */
  readonly id: string
  readonly keyId?: string
  readonly keyLabel?: string
  /** The gateway key's own limits. */
  readonly policy?: KeyPolicy
}
