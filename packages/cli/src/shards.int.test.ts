import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createTokenQuota, type PolicyInspection, type QuotaContext } from '@tokenquota/core'
import { loadQuotaConfig } from '@tokenquota/core/config'
import { RedisStore, RedisUsageStore } from '@tokenquota/core/redis'
import { trackUsage } from '@tokenquota/core/reports'
import { temporaryFolder } from '@tokenquota/test-support'
import { config, spend, tokenquotaInProcess, useRedisServer } from './testing/harness.js'

const redis = useRedisServer()

// The app of a Redis Cluster: hash-tagged keys, one shard per org (callers without an org share `{tokenquota}`).
const shardKey = (context: QuotaContext) => (context.org === undefined ? undefined : String(context.org))

let prefixes = 0
async function shardedApp() {
  const { policies } = await loadQuotaConfig(config)
  const prefix = `shards${++prefixes}-${process.pid}`
  const quota = createTokenQuota({ policies, store: new RedisStore({ client: redis.client, prefix, hashTag: true }), shardKey, commitMode: 'await' })
  const store = ['--redis-url', redis.server.url, '--prefix', prefix, '--hash-tag']
  return { quota, prefix, store, flags: ['--config', config, ...store] }
}

// The built core, by its path: the module lives outside the workspace, where no node_modules resolves it.
const coreConfig = new URL('../../core/dist/config/index.js', import.meta.url).href

/** A module exporting the fixture's policies and the app's shardKey, as an app defines them in code. */
async function moduleWithShardKey(): Promise<string> {
  const path = join(await temporaryFolder('tokenquota-cli-shards-'), 'quota.mjs')
  const source = [
    `import { loadQuotaConfig } from ${JSON.stringify(coreConfig)}`,
    `const { policies } = await loadQuotaConfig(${JSON.stringify(config)})`,
    'export default { policies, shardKey: (context) => context.org }',
  ]
  await writeFile(path, `${source.join('\n')}\n`)
  return path
}

const alice = { user: 'alice', plan: 'premium', project: 'production', org: 'acme' }
const used = (rows: readonly PolicyInspection[], policy: string) => rows.find((row) => row.policy === policy)?.used

describe('an app that shards its keys (hashTag + shardKey)', { timeout: 60_000 }, () => {
  it("status reaches a caller's counters in its shard, by --shard or by the module's shardKey", async () => {
    const { quota, prefix, flags, store } = await shardedApp()
    await spend(quota, alice, 800, 200)
    await spend(quota, { ...alice, user: 'bob', org: 'globex' }, 50, 50)
    expect(await redis.client.keys(`${prefix}:{acme}:c:user-daily*`)).toHaveLength(1) // written by the engine in acme's slot

    const byFlag = await tokenquotaInProcess(['status', '--user', 'alice', '--plan', 'premium', '--shard', 'acme', '--json', ...flags])
    expect(byFlag.code, byFlag.stderr).toBe(0)
    const rows = JSON.parse(byFlag.stdout) as PolicyInspection[]
    expect([used(rows, 'user-daily'), used(rows, 'organization-daily')]).toEqual([1000, 1000]) // not globex's 100

    const module = await moduleWithShardKey()
    const byModule = await tokenquotaInProcess(['status', '--user', 'alice', '--plan', 'premium', '--org', 'acme', '--json', '--config', module, ...store])
    expect(byModule.code, byModule.stderr).toBe(0)
    expect(used(JSON.parse(byModule.stdout) as PolicyInspection[], 'user-daily')).toBe(1000)
  })

  it('grant, reset, set and clear change the counters of the shard named, and nothing in another', async () => {
    const { quota, flags } = await shardedApp()
    await spend(quota, alice, 800, 200)
    await spend(quota, { ...alice, org: 'globex' }, 50, 50) // another alice, in another shard
    const acme = [...flags, '--shard', 'acme']

    const granted = await tokenquotaInProcess([
      'grant',
      '--user',
      'alice',
      '--plan',
      'premium',
      '--policy',
      'user-daily',
      '--add',
      '500',
      '--until',
      '1d',
      ...acme,
    ])
    expect(granted.code, granted.stderr).toBe(0)
    const reset = await tokenquotaInProcess(['reset', '--user', 'alice', '--plan', 'premium', '--policy', 'user-daily', ...acme])
    expect([reset.code, reset.stdout], reset.stderr).toEqual([0, 'reset user-daily for user alice, plan premium: 1,000 used → 0\n'])
    const set = await tokenquotaInProcess(['set', '--policy', 'user-daily', '--class', 'standard', '--allow', '20000', '--until', '1d', ...acme])
    expect(set.code, set.stderr).toBe(0)

    const inAcme = await quota.admin.inspect(alice)
    expect(inAcme.find((row) => row.policy === 'user-daily')).toMatchObject({ used: 0, allowed: 50_500 })
    const inGlobex = await quota.admin.inspect({ ...alice, org: 'globex' })
    expect(inGlobex.find((row) => row.policy === 'user-daily')).toMatchObject({ used: 100, allowed: 50_000 })
    const standard = { user: 'carol', plan: 'standard', project: 'production' }
    expect((await quota.admin.inspect({ ...standard, org: 'acme' })).find((row) => row.policy === 'user-daily')?.allowed).toBe(20_000)
    expect((await quota.admin.inspect({ ...standard, org: 'globex' })).find((row) => row.policy === 'user-daily')?.allowed).toBe(10_000)

    const cleared = await tokenquotaInProcess(['clear', '--policy', 'user-daily', '--class', 'standard', ...acme])
    expect(cleared.code, cleared.stderr).toBe(0)
    expect((await quota.admin.inspect({ ...standard, org: 'acme' })).find((row) => row.policy === 'user-daily')?.allowed).toBe(10_000)
  })

  it("a per-caller command without the caller's shard exits 2 saying how to name it, and changes nothing", async () => {
    const { quota, flags, store } = await shardedApp()
    await spend(quota, alice, 800, 200)
    for (const args of [
      ['status', '--user', 'alice', '--plan', 'premium'],
      ['grant', '--user', 'alice', '--plan', 'premium', '--policy', 'user-daily', '--add', '5'],
      ['set', '--policy', 'user-daily', '--class', 'standard', '--allow', '5'],
    ]) {
      const outcome = await tokenquotaInProcess([...args, ...flags])
      expect([outcome.code, outcome.stderr]).toEqual([
        2,
        expect.stringMatching(/^tokenquota: the app's keys are hash-tagged \(--hash-tag\): name the shard of .* with --shard <value>, .*\n$/),
      ])
    }
    const module = await moduleWithShardKey()
    const noOrg = await tokenquotaInProcess(['status', '--user', 'alice', '--plan', 'premium', '--config', module, ...store])
    expect([noOrg.code, noOrg.stderr]).toEqual([
      2,
      "tokenquota: the --config module's shardKey gives no shard for user alice, plan premium: pass the context it reads (e.g. --org), or --shard <value> (--shard '' for callers without one)\n",
    ])
    const noHashTag = await tokenquotaInProcess(['status', '--user', 'alice', '--shard', 'acme', '--config', config, '--redis-url', redis.server.url])
    expect([noHashTag.code, noHashTag.stderr]).toEqual([
      2,
      "tokenquota: --shard names a shard of hash-tagged keys: pass --hash-tag too (the app's store sets hashTag)\n",
    ])
    expect((await quota.admin.inspect(alice)).find((row) => row.policy === 'user-daily')).toMatchObject({ used: 1000, allowed: 50_000 })
    expect(await quota.admin.audit()).toEqual([])
  })

  it("watch with --shard shows the shard's users only (usage is tracked for all shards together)", async () => {
    const prefix = `shards-watch-${process.pid}`
    const policies = [{ name: 'user-hourly', identifier: 'user', allow: 5000, interval: 1, timeUnit: 'hour' as const }]
    const quota = createTokenQuota({ policies, store: new RedisStore({ client: redis.client, prefix, hashTag: true }), shardKey, commitMode: 'await' })
    const tracking = trackUsage(quota, { store: new RedisUsageStore({ client: redis.client, prefix }) })
    await spend(quota, { user: 'alice', org: 'acme' }, 300, 100)
    await spend(quota, { user: 'bob', org: 'globex' }, 30, 10)
    await tracking.flush()
    const path = join(await temporaryFolder('tokenquota-cli-shards-'), 'quota.mjs')
    await writeFile(path, `export const policies = ${JSON.stringify(policies)}\n`)
    const watched = await tokenquotaInProcess([
      'watch',
      '--count',
      '1',
      '--hash-tag',
      '--shard',
      'acme',
      '--config',
      path,
      '--redis-url',
      redis.server.url,
      '--prefix',
      prefix,
    ])
    expect(watched.code, watched.stderr).toBe(0)
    expect(watched.stdout).toMatch(/alice\s+400\s+400\/5,000 8%/)
    expect(watched.stdout).not.toContain('bob')
  })

  it("--shard '' reaches the callers without a shard", async () => {
    const { quota, flags } = await shardedApp()
    const { org: _, ...noOrg } = alice
    await spend(quota, noOrg, 80, 20)
    const outcome = await tokenquotaInProcess(['status', '--user', 'alice', '--plan', 'premium', '--shard', '', '--json', ...flags])
    expect(outcome.code, outcome.stderr).toBe(0)
    expect(used(JSON.parse(outcome.stdout) as PolicyInspection[], 'user-daily')).toBe(100)
  })
})
