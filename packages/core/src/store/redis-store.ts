import { LuaStore, type LuaStoreOptions } from './redis/lua-store.js'
import type { ScriptTransport } from './redis/script-runner.js'

/** The `ioredis` methods used (a `Redis` or `Cluster` instance). */
export interface IORedisLike {
  evalsha(sha: string, numberOfKeys: number, ...keysAndArgs: string[]): Promise<unknown>
  eval(source: string, numberOfKeys: number, ...keysAndArgs: string[]): Promise<unknown>
}

/** The `redis` (node-redis v4+) methods used. */
export interface NodeRedisLike {
  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>
  eval(source: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>
}

export interface RedisStoreOptions extends LuaStoreOptions {
  /** A connected `ioredis` client (`new Redis(url)`) or `redis` client (`await createClient({ url }).connect()`). */
  readonly client: IORedisLike | NodeRedisLike
}

export function transportFor(client: IORedisLike | NodeRedisLike): ScriptTransport {
  if (typeof (client as NodeRedisLike).evalSha === 'function') {
    const nodeRedis = client as NodeRedisLike
    return {
      evalsha: (sha, keys, args) => nodeRedis.evalSha(sha, { keys: [...keys], arguments: [...args] }),
      eval: (source, keys, args) => nodeRedis.eval(source, { keys: [...keys], arguments: [...args] }),
    }
  }
  if (typeof (client as IORedisLike).evalsha === 'function') {
    const ioredis = client as IORedisLike
    return {
      evalsha: (sha, keys, args) => ioredis.evalsha(sha, keys.length, ...keys, ...args),
      eval: (source, keys, args) => ioredis.eval(source, keys.length, ...keys, ...args),
    }
  }
  throw new TypeError('RedisStore expects an ioredis client or a node-redis (`redis`) client')
}

/**
 * Counters on Redis, shared by every process that uses the same server and prefix. One Lua script
 * per operation (reserve across all policies, settle, read), sent with `EVALSHA`.
 *
 * @example
 * import { Redis } from 'ioredis'
 * import { RedisStore } from '@tokenquota/core/redis'
 * const client = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
 * const quota = createTokenQuota({ policies, store: new RedisStore({ client }) })
 */
export class RedisStore extends LuaStore {
  constructor(options: RedisStoreOptions) {
    super(transportFor(options.client), options)
  }
}
