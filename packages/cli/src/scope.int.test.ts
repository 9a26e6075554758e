import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTokenQuota, type PolicyInspection, type TokenQuota } from '@tokenquota/core'
import { loadQuotaConfig } from '@tokenquota/core/config'
import { RedisStore } from '@tokenquota/core/redis'
import { connectFailFast, type RedisServer, startRedisServer } from '@tokenquota/test-support/redis'
import { app as appOn, spend, spendMany, tokenquotaInProcess } from './testing/harness.js'

// An operator's command touches only what it names: a per-user command never changes a counter
// other callers share, and without --policy it acts only where that is unambiguous.

let server: RedisServer
let client: Redis
let folder: string

beforeAll(async () => {
  server = await startRedisServer()
  client = await connectFailFast(server.url)
  folder = await mkdtemp(join(tmpdir(), 'tokenquota-cli-scope-'))
})
afterAll(async () => {
  client.disconnect()
  await server.kill()
  await rm(folder, { recursive: true, force: true })
})

const alice = { user: 'alice', plan: 'premium', project: 'production' }
const bob = { user: 'bob', plan: 'premium', project: 'production' }

/** Every counter the app has for a caller, as `policy → used/allowed`, to compare before and after a command. */
async function counters(quota: TokenQuota, context: Record<string, string>): Promise<Record<string, string>> {
  const rows: readonly PolicyInspection[] = await quota.admin.inspect(context)
  return Object.fromEntries(rows.map((row) => [row.policy, `${row.used}/${row.allowed}`]))
}

/** A config whose users have one token policy (no rate limit), so `--add` without `--policy` is unambiguous. */
async function oneUserPolicy(): Promise<string> {
  const path = join(folder, `one-user-policy-${Math.random().toString(36).slice(2)}.yaml`)
  await writeFile(
    path,
    'organization:\n  daily_cap: 500000\nprojects:\n  production:\n    daily_limit: 200000\nusers:\n  tier_premium:\n    daily_limit: 50000\n  tier_standard:\n    daily_limit: 10000\n',
  )
  return path
}

describe('per-user CLI commands touch only the user’s own counters', { timeout: 60_000 }, () => {
  it('reset --user without --policy leaves the organization and project counters others spent, and asks --yes for several counters', async () => {
    const { quota, flags } = await appOn(client, server.url)
    await spendMany(quota, bob, 45_000)
    await spend(quota, alice, 3000, 1000)
    const before = await counters(quota, alice)

    const asked = await tokenquotaInProcess(['reset', '--user', 'alice', '--plan', 'premium', '--project', 'production', ...flags])
    expect(asked.code).toBe(2)
    expect(asked.stderr).toBe(
      'tokenquota: reset would change 2 counters of user alice: user-daily (4,000 tokens used), user-requests-per-minute (1 requests used); pass --yes to reset them all, or --policy to pick one\n',
    )
    expect(await counters(quota, alice)).toEqual(before)

    const done = await tokenquotaInProcess(['reset', '--user', 'alice', '--plan', 'premium', '--project', 'production', '--yes', ...flags])
    expect(done.code, done.stderr).toBe(0)
    const after = await counters(quota, alice)
    expect(after).toMatchObject({ 'user-daily': '0/50000', 'user-requests-per-minute': '0/100' })
    // The shared counters keep what bob (and alice) spent: 49,000 tokens.
    expect(after['organization-daily']).toBe(before['organization-daily'])
    expect(after['organization-monthly']).toBe(before['organization-monthly'])
    expect(after['project-daily']).toBe('49000/200000')
    expect((await counters(quota, bob))['user-daily']).toBe('45000/50000')
  })

  it('reset --policy naming a shared counter with a user is refused; named alone it resets that one counter', async () => {
    const { quota, flags } = await appOn(client, server.url)
    await spend(quota, bob, 3000, 1000)
    const shared = await tokenquotaInProcess(['reset', '--user', 'alice', '--plan', 'premium', '--policy', 'organization-daily', ...flags])
    expect([shared.code, shared.stderr]).toEqual([
      2,
      'tokenquota: organization-daily counts everyone together, not user alice alone: to change it, name the policy without a caller (--policy organization-daily)\n',
    ])
    const project = await tokenquotaInProcess(['reset', '--user', 'bob', '--plan', 'premium', '--project', 'production', '--policy', 'project-daily', ...flags])
    expect([project.code, project.stderr]).toEqual([
      2,
      'tokenquota: project-daily counts project production, not user bob alone: to change it, name that caller alone (--project production)\n',
    ])
    expect((await counters(quota, bob))['organization-daily']).toBe('4000/500000')

    const whole = await tokenquotaInProcess(['reset', '--policy', 'organization-daily', ...flags])
    expect([whole.code, whole.stdout], whole.stderr).toEqual([0, 'reset organization-daily (shared): 4,000 used → 0\n'])
    expect(await counters(quota, bob)).toMatchObject({ 'organization-daily': '0/500000', 'user-daily': '4000/50000', 'project-daily': '4000/200000' })
  })

  it('grant without --policy over policies of different units is refused with the candidates, and changes nothing', async () => {
    const { quota, flags } = await appOn(client, server.url)
    await spend(quota, alice, 100, 50)
    const before = await counters(quota, alice)
    const refused = await tokenquotaInProcess(['grant', '--user', 'alice', '--plan', 'premium', '--add', '50000', ...flags])
    expect([refused.code, refused.stderr]).toEqual([
      2,
      'tokenquota: --add 50000 is ambiguous for user alice: it counts user-daily (tokens), user-requests-per-minute (requests); pass --policy\n',
    ])
    expect(await counters(quota, alice)).toEqual(before)
    for (const command of [
      ['set', '--allow', '9000'],
      ['clear', '--yes'],
    ]) {
      const outcome = await tokenquotaInProcess([...command, '--user', 'alice', '--plan', 'premium', ...flags])
      expect(outcome.code, command.join(' ')).toBe(2)
    }
    expect((await quota.admin.inspect(alice)).flatMap((row) => row.overrides)).toEqual([])
  })

  it('grant without --policy over a token and a dollar policy is refused: tokens never become dollars', async () => {
    const { quota, store } = await appOn(client, server.url)
    const path = join(folder, 'dollars.yaml')
    await writeFile(path, 'users:\n  tier_premium:\n    daily_limit: 50000\n    daily_budget_usd: 5\n')
    const refused = await tokenquotaInProcess(['grant', '--user', 'alice', '--plan', 'premium', '--add', '50000', '--config', path, ...store])
    expect([refused.code, refused.stderr]).toEqual([
      2,
      'tokenquota: --add 50000 is ambiguous for user alice: it counts user-daily (tokens), user-daily-usd (usd); pass --policy\n',
    ])
    const dollars = await tokenquotaInProcess([
      'grant',
      '--user',
      'alice',
      '--plan',
      'premium',
      '--policy',
      'user-daily-usd',
      '--add',
      '2.5',
      '--config',
      path,
      ...store,
    ])
    expect([dollars.code, dollars.stdout], dollars.stderr).toEqual([
      0,
      'granted +2.5 on user-daily-usd for user alice, plan premium; allowed now $7.50 usd, $7.50 available\n',
    ])
    expect((await quota.admin.inspect(alice)).flatMap((row) => row.overrides)).toEqual([])
  })

  it('grant without --policy applies to the one policy of the user, not to a project counter shared with others', async () => {
    const { store } = await appOn(client, server.url)
    const config = await oneUserPolicy()
    const flags = ['--config', config, ...store]
    const granted = await tokenquotaInProcess(['grant', '--user', 'alice', '--plan', 'premium', '--project', 'production', '--add', '5000', ...flags])
    expect([granted.code, granted.stdout], granted.stderr).toEqual([
      0,
      'granted +5000 on user-daily for user alice, project production, plan premium; allowed now 55,000 tokens, 55,000 available\n',
    ])
    const { policies } = await loadQuotaConfig(config)
    const app = createTokenQuota({ policies, store: new RedisStore({ client, prefix: store[3]! }) })
    expect(await counters(app, bob)).toMatchObject({ 'project-daily': '0/200000', 'user-daily': '0/50000' })
    expect(await counters(app, alice)).toMatchObject({ 'project-daily': '0/200000', 'user-daily': '0/55000' })
  })

  it('clear of several counters asks --yes; grant --policy on a shared policy with a user is refused', async () => {
    const { quota, flags } = await appOn(client, server.url)
    await quota.admin.grant({ policy: 'user-daily', context: alice, add: 10 })
    await quota.admin.grant({ policy: 'user-requests-per-minute', context: alice, add: 10 })
    const asked = await tokenquotaInProcess(['clear', '--user', 'alice', '--plan', 'premium', ...flags])
    expect([asked.code, asked.stderr]).toEqual([
      2,
      'tokenquota: clear would change 2 counters of user alice: user-daily, user-requests-per-minute; pass --yes to clear them all, or --policy to pick one\n',
    ])
    expect((await quota.admin.inspect(alice)).flatMap((row) => row.overrides)).toHaveLength(2)
    const cleared = await tokenquotaInProcess(['clear', '--user', 'alice', '--plan', 'premium', '--yes', ...flags])
    expect(cleared.code, cleared.stderr).toBe(0)
    expect((await quota.admin.inspect(alice)).flatMap((row) => row.overrides)).toEqual([])

    const shared = await tokenquotaInProcess(['grant', '--user', 'alice', '--plan', 'premium', '--policy', 'organization-daily', '--add', '5', ...flags])
    expect(shared.code).toBe(2)
    expect((await quota.admin.inspect(alice)).flatMap((row) => row.overrides)).toEqual([])
  })
})
