import { QuotaConfigError } from '../../shared/errors.js'
import type { CounterRef, WindowSpec } from '../quota-store.js'

const safe = new Uint8Array(128)
for (const char of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~=*#-') safe[char.charCodeAt(0)] = 1

/**
 * Escapes a key part so any string is a safe, unambiguous Redis key segment: every UTF-16 unit
 * outside a small safe set (so `:`, `{`, `}`, `%`, spaces, newlines, NUL, non-ASCII) becomes
 * `%XXXX`. Braces never reach the key, so only the configured hash tag decides a Cluster slot.
 */
export function escapeKeyPart(text: string): string {
  let out = ''
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index)
    out += code < 128 && safe[code] === 1 ? text[index] : `%${code.toString(16).padStart(4, '0')}`
  }
  return out
}

export interface RedisKeyOptions {
  /** Prefix of every key. @default 'tokenquota' */
  readonly prefix?: string
  /**
   * Put each request's keys in one Redis Cluster slot: the request's shard (the engine's
   * `shardKey`, e.g. the org) becomes the key's hash tag. Requests without a shard (or with `''`)
   * share the `{tokenquota}` tag.
   * @default false
   */
  readonly hashTag?: boolean
}

/** Builds the keys of counters and of the holds of unsettled leases. */
export class RedisKeys {
  readonly #prefix: string
  readonly #hashTag: boolean

  constructor(options: RedisKeyOptions = {}) {
    this.#prefix = options.prefix ?? 'tokenquota'
    // Hold records put keys on lines of their own: a line break in a key would split one.
    if (/[\r\n]/.test(this.#prefix))
      throw new QuotaConfigError({ code: 'InvalidConfiguration', field: 'prefix', message: 'Expected the Redis key `prefix` to have no line breaks' })
    this.#hashTag = options.hashTag ?? false
  }

  #base(shard: string | undefined): string {
    if (!this.#hashTag) return `${this.#prefix}:`
    // An empty shard is no shard: `{}` is no hash tag at all, and would spread one request's keys over slots.
    return `${this.#prefix}:{${shard === undefined || shard === '' ? 'tokenquota' : escapeKeyPart(shard)}}:`
  }

  /** What every key of a shard starts with: requests with the same one may share a script call. */
  slot(shard: string | undefined): string {
    return this.#base(shard)
  }

  /** The counter's hash. */
  counter(ref: CounterRef, shard: string | undefined): string {
    return `${this.#base(shard)}c:${escapeKeyPart(ref.counter)}:${escapeKeyPart(ref.identifier)}:${windowSuffix(ref.window)}`
  }

  /**
   * A credit balance's keys: its counter hash, and beside it (same shard, no TTL) its grants, its
   * ledger and its written keys. Lua twin: `balance_keys` in lua/credits.ts.
   */
  balance(ref: Pick<CounterRef, 'counter' | 'identifier'>, shard: string | undefined): { hash: string; grants: string; ledger: string; written: string } {
    const hash = this.counter({ ...ref, window: { kind: 'balance' } }, shard)
    return { hash, grants: `${hash}:g`, ledger: `${hash}:l`, written: `${hash}:k` }
  }

  /** The last refusal of a counter (any window). */
  refusal(ref: Pick<CounterRef, 'counter' | 'identifier'>, shard: string | undefined): string {
    return `${this.#base(shard)}l:${escapeKeyPart(ref.counter)}:${escapeKeyPart(ref.identifier)}`
  }

  /** A lease's hash (member, expiry, first answer) while it may be settled or sent again: a reserve sent twice holds once. */
  lease(leaseId: string, shard: string | undefined): string {
    return `${this.#base(shard)}e:${escapeKeyPart(leaseId)}`
  }

  /** The hash of a shard's overrides (few: operators set them by hand). */
  overrides(shard: string | undefined): string {
    return `${this.#base(shard)}overrides`
  }

  /** The audit log of the operator actions on a shard (one log for all unless keys are hash-tagged). */
  audit(shard: string | undefined): string {
    return `${this.#base(shard)}audit`
  }

  /** With hash tags, the set of every shard's audit log, to read them all. */
  get auditLists(): string | undefined {
    return this.#hashTag ? `${this.#prefix}:audit-lists` : undefined
  }

  /** Marks an admin step applied (its idempotency key), in the shard of what it changes. */
  appliedStep(key: string, shard: string | undefined): string {
    return `${this.#base(shard)}k:${escapeKeyPart(key)}`
  }

  /** The sorted set of a shard's unsettled holds. */
  holds(shard: string | undefined): string {
    return `${this.#base(shard)}holds`
  }

  /** Every key this store writes starts with this (for cleanup in tests and tools). */
  get pattern(): string {
    return `${this.#prefix}:*`
  }
}

function windowSuffix(window: WindowSpec): string {
  switch (window.kind) {
    case 'fixed':
      return `f:${window.start}`
    case 'flexi':
      return 'x'
    case 'rolling':
      return `w:${window.length}`
    case 'balance':
      return 'b'
  }
}
