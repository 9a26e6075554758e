import { Redis as UpstashRedis } from '@upstash/redis'
import { Redis } from 'ioredis'
import { RedisStore, RedisUsageStore } from '@tokenquota/core/redis'
import { UpstashStore } from '@tokenquota/core/upstash'
import type { QuotaStore } from '@tokenquota/core'
import type { UsageStore } from '@tokenquota/core/reports'
import { CliError } from './cli-error.js'
import { redactUrl, rememberSecret, scrub } from './secrets.js'

export interface StoreFlags {
  readonly redisUrl?: string
  /** Key prefix the app's stores use. */
  readonly prefix: string
}

/** The app's counters and usage aggregates, as the CLI reaches them. */
export interface Connection {
  readonly store: QuotaStore
  readonly usage: UsageStore
  /** Where, without credentials. */
  readonly where: string
  close(): Promise<void>
}

/**
 * Connects to the app's store: `--redis-url`, else `REDIS_URL`, else Upstash's
 * `UPSTASH_REDIS_REST_URL` and `UPSTASH_REDIS_REST_TOKEN`. Fails with a `CliError` that names the
 * server without its credentials.
 */
export async function connect(flags: StoreFlags, env: NodeJS.ProcessEnv = process.env): Promise<Connection> {
  const url = flags.redisUrl ?? env.REDIS_URL
  if (url) return connectRedis(url, flags.prefix)
  const [restUrl, token] = [env.UPSTASH_REDIS_REST_URL, env.UPSTASH_REDIS_REST_TOKEN]
  if (restUrl && token) return connectUpstash(restUrl, token, flags.prefix)
  throw new CliError('no store to read: pass --redis-url, or set REDIS_URL, or UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN')
}

async function connectRedis(url: string, prefix: string): Promise<Connection> {
  const where = redactUrl(url)
  let protocol: string
  try {
    protocol = new URL(url).protocol
  } catch {
    throw new CliError(`the Redis URL does not parse: expected redis://host:port or rediss://…, got ${where}`)
  }
  if (protocol !== 'redis:' && protocol !== 'rediss:') throw new CliError(`expected a redis:// or rediss:// URL, got ${where}`)
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: () => null })
  let cause: Error | undefined
  client.on('error', (error: Error) => {
    cause ??= error // reported by connect() below, without the URL's credentials
  })
  try {
    await client.connect()
  } catch (error) {
    client.disconnect()
    throw new CliError(`cannot connect to Redis at ${where}: ${scrub((cause ?? (error as Error)).message)}`)
  }
  return {
    store: new RedisStore({ client, prefix }),
    usage: new RedisUsageStore({ client, prefix }),
    where,
    close: async () => {
      client.disconnect()
    },
  }
}

async function connectUpstash(restUrl: string, token: string, prefix: string): Promise<Connection> {
  rememberSecret(token)
  const where = redactUrl(restUrl)
  const client = new UpstashRedis({ url: restUrl, token })
  try {
    await client.ping()
  } catch (error) {
    throw new CliError(`cannot reach Upstash at ${where}: ${scrub((error as Error).message)}`)
  }
  // RedisUsageStore speaks node-redis's script calls; Upstash's take the same arguments in another shape.
  const scripts = {
    evalSha: (sha: string, options: { keys: string[]; arguments: string[] }) => client.evalsha(sha, options.keys, options.arguments),
    eval: (source: string, options: { keys: string[]; arguments: string[] }) => client.eval(source, options.keys, options.arguments),
  }
  return { store: new UpstashStore({ client, prefix }), usage: new RedisUsageStore({ client: scripts, prefix }), where, close: async () => undefined }
}
