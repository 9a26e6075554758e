import { describe, expect, it } from 'vitest'
import { app as appOn, spend, tokenquotaInProcess, useRedisServer } from './testing/harness.js'

// Plan-based limits (users.tier_premium / tier_standard): the CLI never shows a `0 / 0` window for a
// missing or unknown plan, and watch shows each user under the plan their counters were charged in.

const redis = useRedisServer()

const alice = { user: 'alice', plan: 'premium', project: 'production' }
const bob = { user: 'bob', plan: 'standard', project: 'production' }

describe('the CLI with plan-based limits', { timeout: 60_000 }, () => {
  it('status without --plan, or with an unknown plan, exits 2 naming the known plans', async () => {
    const { quota, flags } = await appOn(redis.client, redis.server.url)
    await spend(quota, alice, 700, 300)
    const none = await tokenquotaInProcess(['status', '--user', 'alice', ...flags])
    expect([none.code, none.stdout, none.stderr]).toEqual([
      2,
      '',
      'tokenquota: user-daily, user-requests-per-minute limit by plan: pass --plan (one of premium, standard)\n',
    ])
    const unknown = await tokenquotaInProcess(['status', '--user', 'alice', '--plan', 'gold', '--json', ...flags])
    expect([unknown.code, unknown.stdout, unknown.stderr]).toEqual([
      2,
      '',
      'tokenquota: unknown plan "gold" for user-daily, user-requests-per-minute: the known plans are premium, standard\n',
    ])
    const project = await tokenquotaInProcess(['status', '--user', 'alice', '--plan', 'premium', '--project', 'staging', ...flags])
    expect([project.code, project.stderr]).toEqual([
      2,
      'tokenquota: unknown project "staging" for project-daily: the known projects are production, development\n',
    ])
    const grant = await tokenquotaInProcess(['grant', '--user', 'alice', '--plan', 'gold', '--policy', 'user-daily', '--add', '5', ...flags])
    expect(grant.code).toBe(2)
    expect((await quota.admin.inspect(alice)).flatMap((row) => row.overrides)).toEqual([])
  })

  it("watch shows each user under the plan their counters were charged in; --plan keeps that plan's users; an unknown plan exits 2", async () => {
    const { quota, tracking, flags } = await appOn(redis.client, redis.server.url)
    await spend(quota, alice, 700, 300)
    await spend(quota, bob, 1500, 500)
    await tracking.flush()

    const watched = await tokenquotaInProcess(['watch', '--count', '1', ...flags])
    expect(watched.code, watched.stderr).toBe(0)
    expect(watched.stdout).toMatch(/USER\s+PLAN\s+TODAY\s+USER-DAILY\s+USER-REQUESTS-PER-MINUTE/)
    expect(watched.stdout).toMatch(/bob\s+standard\s+2,000\s+2,000\/10,000 20%\s+1\/30 3%/)
    expect(watched.stdout).toMatch(/alice\s+premium\s+1,000\s+1,000\/50,000 2%\s+1\/100 1%/)

    const standard = await tokenquotaInProcess(['watch', '--count', '1', '--plan', 'standard', ...flags])
    expect(standard.code, standard.stderr).toBe(0)
    expect(standard.stdout).toMatch(/bob\s+standard\s+2,000/)
    expect(standard.stdout).not.toContain('alice')

    const gold = await tokenquotaInProcess(['watch', '--count', '1', '--plan', 'gold', ...flags])
    expect([gold.code, gold.stdout, gold.stderr]).toEqual([2, '', 'tokenquota: unknown plan "gold": the known plans are premium, standard\n'])
  })

  it('watch shows a user charged under two plans today (an upgrade) once per plan', async () => {
    const { quota, tracking, flags } = await appOn(redis.client, redis.server.url)
    await spend(quota, { ...alice, plan: 'standard' }, 300, 100)
    await spend(quota, alice, 700, 300)
    await tracking.flush()
    const watched = await tokenquotaInProcess(['watch', '--count', '1', ...flags])
    expect(watched.code, watched.stderr).toBe(0)
    expect(watched.stdout).toMatch(/alice\s+premium\s+1,400\s+1,000\/50,000 2%/)
    expect(watched.stdout).toMatch(/alice\s+standard\s+1,400\s+400\/10,000 4%/)
  })
})
