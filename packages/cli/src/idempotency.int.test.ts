import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TokenQuota } from '@tokenquota/core'
import { connectFailFast, type RedisServer, startRedisServer } from '@tokenquota/test-support/redis'
import { app as appOn, spend, tokenquota } from './testing/harness.js'

// An operator who re-runs a command after a timeout (did it land?) names it with
// --idempotency-key: the same key applies the change once.

let server: RedisServer
let client: Redis

beforeAll(async () => {
  server = await startRedisServer()
  client = await connectFailFast(server.url)
})
afterAll(async () => {
  client.disconnect()
  await server.kill()
})

const alice = { user: 'alice', plan: 'premium', project: 'production' }
const caller = ['--user', 'alice', '--plan', 'premium', '--project', 'production']

async function row(quota: TokenQuota, policy: string) {
  return (await quota.admin.inspect(alice)).find((candidate) => candidate.policy === policy)!
}

describe('--idempotency-key on grant, set, clear and reset', { timeout: 60_000 }, () => {
  it('the same grant run twice with the same key raises the limit once; another key raises it again', async () => {
    const { quota, flags } = await appOn(client, server.url)
    const policyAllowed = (await row(quota, 'user-daily')).allowed
    const grant = (key: string) => tokenquota(['grant', ...caller, '--policy', 'user-daily', '--add', '5000', '--idempotency-key', key, ...flags])

    for (const run of [await grant('ticket-42'), await grant('ticket-42')]) expect(run).toMatchObject({ code: 0, stderr: '' })
    expect(await row(quota, 'user-daily')).toMatchObject({ allowed: policyAllowed + 5000 })
    expect((await grant('ticket-43')).code).toBe(0)
    expect(await row(quota, 'user-daily')).toMatchObject({ allowed: policyAllowed + 10_000 })
    expect((await quota.admin.audit()).filter((entry) => entry.action === 'grant')).toHaveLength(2)
  })

  it('set and clear re-run with their keys change nothing more', async () => {
    const { quota, flags } = await appOn(client, server.url)
    const policyAllowed = (await row(quota, 'user-daily')).allowed
    const run = (...args: string[]) => tokenquota([...args, ...caller, '--policy', 'user-daily', ...flags])
    expect((await run('set', '--allow', '70000', '--idempotency-key', 'set-1')).code).toBe(0)
    expect((await run('clear', '--idempotency-key', 'clear-1')).code).toBe(0)
    // The set, replayed after the clear, is not applied again.
    expect((await run('set', '--allow', '70000', '--idempotency-key', 'set-1')).code).toBe(0)
    expect(await row(quota, 'user-daily')).toMatchObject({ allowed: policyAllowed, overrides: [] })
    expect((await run('set', '--allow', '70000', '--idempotency-key', 'set-2')).code).toBe(0)
    expect((await run('clear', '--idempotency-key', 'clear-1')).code).toBe(0)
    expect(await row(quota, 'user-daily')).toMatchObject({ allowed: 70_000 })
  })

  it('a reset over several counters uses one key per counter: each is reset once, and a re-run resets none again', async () => {
    const { quota, flags } = await appOn(client, server.url)
    const reset = () => tokenquota(['reset', ...caller, '--yes', '--idempotency-key', 'reset-1', ...flags])
    await spend(quota, alice, 3000, 1000)
    expect((await reset()).code).toBe(0)
    expect(await row(quota, 'user-daily')).toMatchObject({ used: 0 })
    expect(await row(quota, 'user-requests-per-minute')).toMatchObject({ used: 0 })

    await spend(quota, alice, 300, 100)
    expect((await reset()).code).toBe(0)
    expect(await row(quota, 'user-daily')).toMatchObject({ used: 400 })
    expect(await row(quota, 'user-requests-per-minute')).toMatchObject({ used: 1 })
  })

  it('an empty key exits 2 and changes nothing', async () => {
    const { quota, flags } = await appOn(client, server.url)
    const before = await row(quota, 'user-daily')
    const run = await tokenquota(['grant', ...caller, '--policy', 'user-daily', '--add', '5000', '--idempotency-key', ' ', ...flags])
    expect(run).toMatchObject({ code: 2, stderr: 'tokenquota: --idempotency-key: expected a non-empty key\n' })
    expect(await row(quota, 'user-daily')).toEqual(before)
  })
})
