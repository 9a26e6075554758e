import { LuaStore, type LuaStoreOptions } from './redis/lua-store.js'

/** The `@upstash/redis` methods used. */
export interface UpstashRedisLike {
  evalsha(sha: string, keys: string[], args: string[]): Promise<unknown>
  eval(source: string, keys: string[], args: string[]): Promise<unknown>
}

export interface UpstashStoreOptions extends LuaStoreOptions {
  /** An `@upstash/redis` client (`Redis.fromEnv()`). Works on edge runtimes: every call is one HTTPS request. */
  readonly client: UpstashRedisLike
  /**
   * Longest wait for one call (one HTTPS request), in ms from 1 to 2147483647.
   * @default 5000
   */
  readonly timeoutMs?: number
}

/**
 * Counters on Upstash Redis over its REST API: the same scripts as `RedisStore`, one HTTPS
 * request per operation.
 *
 * @example
 * import { Redis } from '@upstash/redis'
 * import { UpstashStore } from '@tokenquota/core/upstash'
 * const quota = createTokenQuota({ policies, store: new UpstashStore({ client: Redis.fromEnv() }) })
 */
export class UpstashStore extends LuaStore {
  constructor(options: UpstashStoreOptions) {
    const { client } = options
    super(
      {
        evalsha: (sha, keys, args) => client.evalsha(sha, [...keys], [...args]),
        eval: (source, keys, args) => client.eval(source, [...keys], [...args]),
      },
      // An explicit `undefined` (an unset setting passed through) keeps the default too.
      { ...options, timeoutMs: options.timeoutMs ?? 5000 },
    )
  }
}
