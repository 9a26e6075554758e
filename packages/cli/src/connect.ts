import type { QuotaStore } from '@tokenquota/core/store'
import { terminal } from './terminal.js'
import type { UsageStore } from '@tokenquota/core/reports'
import { CliError, StoreUnreachableError } from './cli-error.js'
import { withDeadline } from './deadline.js'
import { secondsOf } from './numbers.js'
import { redactUrl, rememberSecret, scrub } from './secrets.js'

export interface StoreFlags {
  readonly redisUrl?: string
  /** Key prefix the app's stores use. */
  readonly prefix: string
  /** The app's store sets `hashTag` (Redis Cluster). */
  readonly hashTag?: boolean
  /** Longest wait for the store to answer, in seconds, as typed. @default '10' */
  readonly timeout?: string
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
 * server without its credentials. Every call to the store waits at most `--timeout` seconds (default 10).
 */
export async function connect(flags: StoreFlags, env: NodeJS.ProcessEnv = terminal().env): Promise<Connection> {
  const timeoutMs = timeoutOf(flags)
  const url = flags.redisUrl ?? env.REDIS_URL
  if (url) return connectRedis(url, keysOf(flags), timeoutMs)
  const [restUrl, token] = [env.UPSTASH_REDIS_REST_URL, env.UPSTASH_REDIS_REST_TOKEN]
  if (restUrl && token) return connectUpstash(restUrl, token, keysOf(flags), timeoutMs)
  throw new CliError('no store to read: pass --redis-url, or set REDIS_URL, or UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN')
}

/** `--timeout` in milliseconds: the longest wait for the store, and for a `--config` module to load. */
export function timeoutOf(flags: Pick<StoreFlags, 'timeout'>): number {
  return secondsOf(flags.timeout ?? '10', '--timeout')
}

/** The app's key options: its prefix, and its hash tags if it sets them. */
interface KeyOptions {
  readonly prefix: string
  readonly hashTag: boolean
}

function keysOf(flags: StoreFlags): KeyOptions {
  return { prefix: flags.prefix, hashTag: flags.hashTag === true }
}

async function connectRedis(url: string, keys: KeyOptions, timeoutMs: number): Promise<Connection> {
  const where = redactUrl(url)
  let protocol: string
  try {
    protocol = new URL(url).protocol
  } catch {
    throw new CliError(`the Redis URL does not parse: expected redis://host:port or rediss://…, got ${where}`)
  }
  if (protocol !== 'redis:' && protocol !== 'rediss:') throw new CliError(`expected a redis:// or rediss:// URL, got ${where}`)
  // Loaded here, not at the top: ioredis alone takes ~0.4 s to load, which every command that
  // never connects (usage errors, --help, --version, check) would pay.
  const [{ Redis }, { RedisStore, RedisUsageStore }] = await Promise.all([import('ioredis'), import('@tokenquota/core/redis')])
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  })
  let cause: Error | undefined
  client.on('error', (error: Error) => {
    cause ??= error // reported by connect() below, without the URL's credentials
  })
  try {
    // connectTimeout covers the TCP connection only; a server that accepts and then says nothing
    // (CLIENT PAUSE, a hung host) would hold the ready check forever.
    await answered(client.connect(), timeoutMs, `Redis at ${where}`)
  } catch (error) {
    client.disconnect()
    if (error instanceof StoreUnreachableError) throw error
    throw new StoreUnreachableError(`cannot connect to Redis at ${where}: ${scrub((cause ?? (error as Error)).message)}`)
  }
  return {
    store: new RedisStore({ client, ...keys, timeoutMs }),
    usage: new RedisUsageStore({ client, prefix: keys.prefix }),
    where,
    close: async () => {
      client.disconnect()
    },
  }
}

async function connectUpstash(restUrl: string, token: string, keys: KeyOptions, timeoutMs: number): Promise<Connection> {
  rememberSecret(token)
  const where = redactUrl(restUrl)
  const [{ Redis: UpstashRedis }, { UpstashStore }, { RedisUsageStore }] = await Promise.all([
    import('@upstash/redis'),
    import('@tokenquota/core/upstash'),
    import('@tokenquota/core/redis'),
  ])
  // A fresh signal per request; no retries, so one call waits at most the timeout.
  const client = new UpstashRedis({ url: restUrl, token, signal: () => AbortSignal.timeout(timeoutMs), retry: false })
  try {
    await answered(client.ping(), timeoutMs, `Upstash at ${where}`)
  } catch (error) {
    if (error instanceof StoreUnreachableError) throw error
    throw new StoreUnreachableError(`cannot reach Upstash at ${where}: ${scrub((error as Error).message)}`)
  }
  // RedisUsageStore speaks node-redis's script calls; Upstash's take the same arguments in another shape.
  const scripts = {
    evalSha: (sha: string, options: { keys: string[]; arguments: string[] }) => client.evalsha(sha, options.keys, options.arguments),
    eval: (source: string, options: { keys: string[]; arguments: string[] }) => client.eval(source, options.keys, options.arguments),
  }
  return {
    store: new UpstashStore({ client, ...keys, timeoutMs }),
    usage: new RedisUsageStore({ client: scripts, prefix: keys.prefix }),
    where,
    close: async () => undefined,
  }
}

/** `work`, or a `StoreUnreachableError` once `ms` pass without an answer. */
function answered<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  return withDeadline(work, ms, () => new StoreUnreachableError(`${what} did not answer within ${ms / 1000} s (--timeout)`))
}
