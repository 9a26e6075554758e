import { describe, expect, it } from 'vitest'
import type { TokenQuota } from '@tokenquota/core'
import { app as appOn, spend, tokenquotaInProcess, useRedisServer } from './testing/harness.js'

// An operator who re-runs a command after a timeout (did it land?) names it with
// --idempotency-key: the same key applies the change once.

const redis = useRedisServer()

const alice = { user: 'alice', plan: 'premium', project: 'production' }
const caller = ['--user', 'alice', '--plan', 'premium', '--project', 'production']

async function row(quota: TokenQuota, policy: string) {
  return (await quota.admin.inspect(alice)).find((candidate) => candidate.policy === policy)!
}

describe('--idempotency-key on grant, set, clear and reset', { timeout: 60_000 }, () => {
  it('the same grant run twice with the same key raises the limit once; another key raises it again', async () => {
    const { quota, flags } = await appOn(redis.client, redis.server.url)
    const policyAllowed = (await row(quota, 'user-daily')).allowed
    const grant = (key: string) => tokenquotaInProcess(['grant', ...caller, '--policy', 'user-daily', '--add', '5000', '--idempotency-key', key, ...flags])

    const [first, again] = [await grant('ticket-42'), await grant('ticket-42')]
    for (const run of [first, again]) expect(run).toMatchObject({ code: 0, stderr: '' })
    expect(first.stdout).toMatch(/^granted \+5000 on user-daily for user alice/)
    expect(again.stdout).toMatch(/^already applied \(idempotency key ticket-42\): nothing changed on user-daily for user alice.*\n$/)
    expect(await row(quota, 'user-daily')).toMatchObject({ allowed: policyAllowed + 5000 })
    expect((await grant('ticket-43')).code).toBe(0)
    expect(await row(quota, 'user-daily')).toMatchObject({ allowed: policyAllowed + 10_000 })
    expect((await quota.admin.audit()).filter((entry) => entry.action === 'grant')).toHaveLength(2)
  })

  it('set and clear re-run with their keys change nothing more', async () => {
    const { quota, flags } = await appOn(redis.client, redis.server.url)
    const policyAllowed = (await row(quota, 'user-daily')).allowed
    const run = (...args: string[]) => tokenquotaInProcess([...args, ...caller, '--policy', 'user-daily', ...flags])
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
    const { quota, flags } = await appOn(redis.client, redis.server.url)
    const reset = () => tokenquotaInProcess(['reset', ...caller, '--yes', '--idempotency-key', 'reset-1', ...flags])
    await spend(quota, alice, 3000, 1000)
    expect((await reset()).code).toBe(0)
    expect(await row(quota, 'user-daily')).toMatchObject({ used: 0 })
    expect(await row(quota, 'user-requests-per-minute')).toMatchObject({ used: 0 })

    await spend(quota, alice, 300, 100)
    const replay = await reset()
    expect(replay.code).toBe(0)
    expect(replay.stdout).toMatch(/^already applied \(idempotency key reset-1\): nothing changed on user-daily for user alice.*\n/)
    expect(await row(quota, 'user-daily')).toMatchObject({ used: 400 })
    expect(await row(quota, 'user-requests-per-minute')).toMatchObject({ used: 1 })
  })

  it('a key reused for a different change exits 2 with one line and changes nothing (grant, set, clear, reset)', async () => {
    const { quota, flags } = await appOn(redis.client, redis.server.url)
    const run = (...args: string[]) => tokenquotaInProcess([...args, ...caller, '--policy', 'user-daily', ...flags])
    expect((await run('grant', '--add', '1000', '--idempotency-key', 'k1')).code).toBe(0)
    const before = await row(quota, 'user-daily')
    for (const args of [['grant', '--add', '7'], ['set', '--allow', '5'], ['clear'], ['reset', '--yes']]) {
      const reused = await run(...args, '--idempotency-key', 'k1')
      expect(reused.code, args.join(' ')).toBe(2)
      expect(reused.stdout).toBe('')
      expect(reused.stderr).toMatch(
        /^tokenquota: --idempotency-key k1 was already used for a different change on user-daily \(within 24 hours\): nothing changed; use a new key\n$/,
      )
    }
    expect(await row(quota, 'user-daily')).toEqual(before)
    expect((await quota.admin.audit()).filter((entry) => entry.action === 'grant')).toHaveLength(1)
  })

  it('an empty key exits 2 and changes nothing', async () => {
    const { quota, flags } = await appOn(redis.client, redis.server.url)
    const before = await row(quota, 'user-daily')
    const run = await tokenquotaInProcess(['grant', ...caller, '--policy', 'user-daily', '--add', '5000', '--idempotency-key', ' ', ...flags])
    expect(run).toMatchObject({ code: 2, stderr: 'tokenquota: --idempotency-key: expected a non-empty key\n' })
    expect(await row(quota, 'user-daily')).toEqual(before)
  })
})
