import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll } from 'vitest'
import { createTokenQuota, type TokenQuota } from '@tokenquota/core'
import { loadQuotaConfig } from '@tokenquota/core/config'
import { RedisStore, RedisUsageStore } from '@tokenquota/core/redis'
import { trackUsage, type UsageTracking } from '@tokenquota/core/reports'
import { connectFailFast, type RedisServer, startRedisServer } from '@tokenquota/test-support/redis'

import type { Outcome } from './in-process.js'
import { config } from './token-limits.js'

export { type Outcome, tokenquotaInProcess } from './in-process.js'
export { config } from './token-limits.js'

// The built CLI, run as operators run it: a separate process (`npm test` builds before testing).
const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url))
const run = promisify(execFile)

/**
 * The test run's clock settings (scripts/test-a-year-ahead.mjs), so the CLI sees the same calendar as
 * the test, and Node's compile cache of the run (scripts/vitest-clean-tmp.mjs), so each bin run after
 * the first reads its modules compiled: it changes no behaviour, only start-up work.
 */
const runEnvironment = Object.fromEntries(
  ['NODE_OPTIONS', 'TOKENQUOTA_CLOCK_SHIFT_MS', 'NODE_COMPILE_CACHE'].flatMap((name) =>
    process.env[name] === undefined ? [] : [[name, process.env[name] as string]],
  ),
)

/** Runs `tokenquota …` with only the environment given (no REDIS_URL of the machine's); a run past `timeoutMs` is killed (code `null`). */
export async function tokenquota(args: readonly string[], env: Record<string, string> = {}, cwd?: string, timeoutMs = 0): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], {
      env: { PATH: process.env.PATH ?? '', USER: 'ops-test', ...runEnvironment, ...env },
      cwd,
      timeout: timeoutMs,
    })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string }
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr }
  }
}

export interface App {
  readonly quota: TokenQuota
  readonly tracking: UsageTracking
  /** The CLI flags that reach the app's store. */
  readonly store: string[]
  /** The store flags and `--config`. */
  readonly flags: string[]
}

let prefixes = 0

/** An app on the fixture's policies, counting in Redis under its own prefix, with usage tracked there too. */
export async function app(client: Redis, url: string, prefix = `cli${++prefixes}-${process.pid}`): Promise<App> {
  const { policies } = await loadQuotaConfig(config)
  const quota = createTokenQuota({ policies, store: new RedisStore({ client, prefix }), commitMode: 'await' })
  const tracking = trackUsage(quota, { store: new RedisUsageStore({ client, prefix }) })
  const store = ['--redis-url', url, '--prefix', prefix]
  return { quota, tracking, store, flags: ['--config', config, ...store] }
}

/** Spends `input` + `output` tokens in one call. */
export async function spend(quota: TokenQuota, context: Record<string, string>, input: number, output: number, model = 'gpt-4o-mini'): Promise<void> {
  const lease = await quota.reserve(context, { estimate: { input, output }, model })
  await lease.commit({ input, output })
}

/** `total` tokens in calls under the production project's per-request cap of 4000. */
export async function spendMany(quota: TokenQuota, context: Record<string, string>, total: number): Promise<void> {
  for (let left = total; left > 0; left -= 4000) {
    const call = Math.min(4000, left)
    await spend(quota, context, call - Math.floor(call / 4), Math.floor(call / 4))
  }
}

/** A redis-server and a client to it for the file's tests: started before them, stopped after. */
export function useRedisServer(): { readonly server: RedisServer; readonly client: Redis } {
  let server: RedisServer | undefined
  let client: Redis | undefined
  beforeAll(async () => {
    server = await startRedisServer()
    client = await connectFailFast(server.url)
  })
  afterAll(async () => {
    client?.disconnect()
    await server?.kill()
  })
  return {
    get server() {
      if (!server) throw new Error('useRedisServer: the server starts in beforeAll')
      return server
    },
    get client() {
      if (!client) throw new Error('useRedisServer: the client connects in beforeAll')
      return client
    },
  }
}
