import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { type PolicyInspection, TokenQuotaExceededError } from '@tokenquota/core'
import { temporaryFolder } from '@tokenquota/test-support'
import { startUpstashRestServer } from '@tokenquota/test-support/redis'
import { app as appOn, config, spend, spendMany, tokenquotaInProcess, useRedisServer } from './testing/harness.js'

// The CLI's commands on a real redis-server, run in-process: each test is an app of its own (its own
// key prefix), and they run side by side. cli.int.test.ts runs the README's lines through the bin.

const redis = useRedisServer()
const app = () => appOn(redis.client, redis.server.url)

const alice = { user: 'alice', plan: 'premium', project: 'production' }

describe('tokenquota CLI against a real redis-server', { timeout: 60_000, concurrent: true }, () => {
  it('status shows a caller after traffic, as a table and as JSON; reset zeroes the window the app then sees', async () => {
    const { quota, flags } = await app()
    await spendMany(quota, alice, 10_000)
    await spend(quota, { ...alice, user: 'bob' }, 100, 50)

    const json = await tokenquotaInProcess(['status', '--user', 'alice', '--plan', 'premium', '--project', 'production', '--json', ...flags])
    expect(json.code, json.stderr).toBe(0)
    const rows = JSON.parse(json.stdout) as PolicyInspection[]
    expect(rows.find((row) => row.policy === 'user-daily')).toMatchObject({
      identifier: 'alice',
      class: 'premium',
      used: 10_000,
      allowed: 50_000,
      available: 40_000,
    })
    expect(rows.find((row) => row.policy === 'organization-daily')).toMatchObject({ identifier: null, used: 10_150 })

    const text = await tokenquotaInProcess(['status', '--user', 'alice', '--plan', 'premium', ...flags])
    expect(text.stdout).toMatch(/user-daily\s+alice\s+premium\s+10,000\s+0\s+50,000\s+40,000/)

    const reset = await tokenquotaInProcess(['reset', '--user', 'alice', '--plan', 'premium', '--policy', 'user-daily', ...flags])
    expect(reset.code, reset.stderr).toBe(0)
    expect(reset.stdout).toBe('reset user-daily for user alice, plan premium: 10,000 used → 0\n')
    const after = await quota.status(alice)
    expect(after.find((row) => row.policy === 'user-daily')!.used).toBe(0)
    expect(after.find((row) => row.policy === 'organization-daily')!.used).toBe(10_150) // only alice's window
    expect((await quota.admin.audit()).map(({ by, action, policy, identifier }) => ({ by, action, policy, identifier }))).toEqual([
      { by: 'ops-test', action: 'reset', policy: 'user-daily', identifier: 'alice' },
    ])
  })

  it('a grant from the CLI is in force in the app at once: refused before, admitted right after', async () => {
    const { quota, flags } = await app()
    const carol = { user: 'carol', plan: 'standard', project: 'production' }
    await spendMany(quota, carol, 9000) // 90 %: under the fixture's 95 % throttle
    await expect(quota.reserve(carol, { estimate: { input: 2000, output: 500 }, model: 'gpt-4o-mini' })).rejects.toBeInstanceOf(TokenQuotaExceededError)

    const granted = await tokenquotaInProcess([
      'grant',
      '--user',
      'carol',
      '--plan',
      'standard',
      '--policy',
      'user-daily',
      '--add',
      '50000',
      '--until',
      '1d',
      '--reason',
      'demo day',
      ...flags,
    ])
    expect(granted.code, granted.stderr).toBe(0)
    expect(granted.stdout).toMatch(/^granted \+50000 until .* on user-daily for user carol, plan standard; allowed now 60,000 tokens, 51,000 available\n$/)
    await spend(quota, carol, 2000, 500)

    const status = JSON.parse((await tokenquotaInProcess(['status', '--user', 'carol', '--plan', 'standard', '--json', ...flags])).stdout) as PolicyInspection[]
    const daily = status.find((row) => row.policy === 'user-daily')!
    expect(daily).toMatchObject({ used: 11_500, allowed: 60_000, policyAllowed: 10_000, overrides: [{ kind: 'grant', scope: 'identifier', amount: 50_000 }] })
    expect(daily.lastRefusal).toMatchObject({ requested: 2500, limit: 10_000, used: 9000 })

    // A second grant keeps its own amount and end: status prints the resulting limit and each end.
    const again = await tokenquotaInProcess([
      'grant',
      '--user',
      'carol',
      '--plan',
      'standard',
      '--policy',
      'user-daily',
      '--add',
      '1000',
      '--until',
      '2h',
      ...flags,
    ])
    expect(again.code, again.stderr).toBe(0)
    const text = (await tokenquotaInProcess(['status', '--user', 'carol', '--plan', 'standard', ...flags])).stdout
    const row = text.split('\n').find((line) => line.startsWith('user-daily'))!
    const ends = [...row.matchAll(/until (\d{4}-\d\d-\d\d \d\d:\d\d UTC)/g)].map((match) => match[1])
    expect(row).toMatch(/ 61,000 .*\+50,000 until .*; \+1,000 until /)
    expect(ends).toHaveLength(2)
    expect(ends[0]).not.toBe(ends[1])
  })

  it('report lists top consumers with burn rate and projection', async () => {
    const { quota, tracking, store } = await app()
    await spend(quota, alice, 3000, 1000, 'gpt-4o')
    await spend(quota, { ...alice, user: 'dave' }, 500, 500)
    await tracking.flush()
    const json = await tokenquotaInProcess(['report', '--since', '7d', '--by', 'user', '--json', ...store])
    expect(json.code, json.stderr).toBe(0)
    const report = JSON.parse(json.stdout) as {
      totals: { tokens: number; requests: number }
      consumers: Array<{ name: string; tokens: number }>
      projectedMonth: number
    }
    expect(report.totals).toMatchObject({ tokens: 5000, requests: 2 })
    expect(report.consumers.map(({ name, tokens }) => [name, tokens])).toEqual([
      ['alice', 4000],
      ['dave', 1000],
    ])
    expect(report.projectedMonth).toBeGreaterThanOrEqual(5000)
    const byModel = await tokenquotaInProcess(['report', '--by', 'model', ...store])
    expect(byModel.stdout).toMatch(/gpt-4o\s+4,000\s+80\.0%/)
    expect(byModel.stdout).toContain('burn rate')
  })

  it('watch prints a per-user table and stops after --count refreshes', async () => {
    const { quota, tracking, flags } = await app()
    await spend(quota, alice, 700, 300)
    await tracking.flush()
    const watched = await tokenquotaInProcess(['watch', '--count', '1', '--plan', 'premium', ...flags])
    expect(watched.code, watched.stderr).toBe(0)
    expect(watched.stdout).toMatch(/USER\s+PLAN\s+TODAY\s+USER-DAILY/)
    expect(watched.stdout).toMatch(/alice\s+premium\s+1,000\s+1,000\/50,000 2%/)
  })

  it('check validates a config and prints its policies; a broken one exits 2 naming the field', async (context) => {
    const valid = await tokenquotaInProcess(['check', config])
    expect(valid.code).toBe(0)
    expect(valid.stdout).toMatch(/user-daily\s+user\s+premium: 50,000, standard: 10,000\s+1 day/)

    const folder = await temporaryFolder('tokenquota-cli-', context)
    const tools = join(folder, 'tools.yaml')
    const toolPolicy = '  - { name: web-searches, identifier: user, tools: [web_search, "mcp:search/*"], allow: 20, interval: 1, timeUnit: day }\n'
    const modelPolicy = '  - { name: gpt-4o-daily, identifier: user, models: ["gpt-4o*"], allow: 5000, interval: 1, timeUnit: day }\n'
    await writeFile(tools, `policies:\n${toolPolicy}${modelPolicy}  - { name: all-daily, allow: 90000, interval: 1, timeUnit: day }\n`)
    const withTools = await tokenquotaInProcess(['check', tools])
    expect(withTools.code, withTools.stderr).toBe(0)
    expect(withTools.stdout).toMatch(/POLICY\s+IDENTIFIER\s+ALLOW\s+WINDOW\s+MODE\s+UNIT\s+FOR\n/)
    expect(withTools.stdout).toMatch(/web-searches\s+user\s+20\s+1 day \(default\)\s+enforce\s+requests\s+tools web_search, mcp:search\/\*\n/)
    expect(withTools.stdout).toMatch(/gpt-4o-daily\s+user\s+5,000\s+.*tokens\s+models gpt-4o\*\n/)
    expect(withTools.stdout).toMatch(/all-daily\s+\(shared\)\s+90,000\s+.*tokens\s+every model\n/)
    const cycles = join(folder, 'cycles.yaml')
    await writeFile(cycles, 'users:\n  tier_basic: { monthly_limit: 100 }\nbilling_cycle: { anchor: subscribedAt, time_zone: Asia/Tokyo }\n')
    const anchored = await tokenquotaInProcess(['check', cycles])
    expect(anchored.code, anchored.stderr).toBe(0)
    expect(anchored.stdout).toMatch(/user-monthly\s+user\s+basic: 100\s+1 month from subscribedAt, Asia\/Tokyo\s+enforce/)
    const json = JSON.parse((await tokenquotaInProcess(['check', tools, '--json'])).stdout) as { policies: Array<{ name: string; for: unknown }> }
    expect(json.policies.map((policy) => [policy.name, policy.for])).toEqual([
      ['web-searches', { tools: ['web_search', 'mcp:search/*'] }],
      ['gpt-4o-daily', { models: ['gpt-4o*'] }],
      ['all-daily', { models: '*' }],
    ])
    await writeFile(tools, `policies:\n  - { name: web-searches, tools: web_search, allow: 20, interval: 1, timeUnit: day }\n`)
    const badSelector = await tokenquotaInProcess(['check', tools])
    expect([badSelector.code, badSelector.stderr]).toEqual([
      2,
      'tokenquota: invalid config: policy "web-searches", field `tools`: Expected `tools` to be a non-empty array of tool-name globs, got `web_search` (string)\n',
    ])

    const broken = join(folder, 'token_limits.yaml')
    await writeFile(broken, 'users:\n  tier_premium:\n    daily_limit: -5\n')
    const failed = await tokenquotaInProcess(['check', broken])
    expect(failed.code).toBe(2)
    expect(failed.stderr).toBe(
      'tokenquota: invalid config: field `users.tier_premium.daily_limit`: Expected `users.tier_premium.daily_limit` to be a non-negative integer, got `-5`\n',
    )
  })

  it('exits 2 (1 for an unreachable server) with a clear message, and no credentials, on a bad URL, an unreachable server, no store, or an unknown identifier', async () => {
    const { flags } = await app()
    // Five runs that share nothing: started together.
    const [badScheme, unreachable, none, unknown, noPolicy] = await Promise.all([
      tokenquotaInProcess(['status', '--user', 'alice', '--config', config, '--redis-url', 'http://admin:hunter2@example.com']),
      tokenquotaInProcess(['status', '--user', 'alice', '--config', config], { REDIS_URL: 'redis://admin:hunter2@127.0.0.1:1' }),
      tokenquotaInProcess(['status', '--user', 'alice', '--config', config]),
      tokenquotaInProcess(['status', '--user', 'nobody', '--plan', 'premium', ...flags]),
      tokenquotaInProcess(['grant', '--context', 'team=red', '--add', '5', ...flags]),
    ])
    expect([badScheme.code, badScheme.stderr]).toEqual([2, 'tokenquota: expected a redis:// or rediss:// URL, got http://***@example.com/\n'])
    expect(unreachable.code).toBe(1) // the store does not answer
    expect(unreachable.stderr).toMatch(/^tokenquota: cannot connect to Redis at redis:\/\/\*\*\*@127\.0\.0\.1:1: .*ECONNREFUSED/)
    expect(unreachable.stderr).not.toContain('hunter2')
    expect([none.code, none.stderr]).toEqual([
      2,
      'tokenquota: no store to read: pass --redis-url, or set REDIS_URL, or UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN\n',
    ])
    expect([unknown.code, unknown.stderr]).toEqual([
      2,
      "tokenquota: unknown identifier: user nobody, plan premium has no usage, reservation, override or refusal in the current windows (do --prefix and --hash-tag match the app's store?)\n",
    ])
    expect([noPolicy.code, noPolicy.stderr]).toEqual([2, 'tokenquota: no enforcing policy counts team red\n'])
  })

  it('reaches Upstash over REST from its environment variables, without printing the token', async () => {
    const { quota, flags } = await app()
    await spend(quota, alice, 100, 20)
    const rest = await startUpstashRestServer(redis.client)
    try {
      const prefix = flags[flags.indexOf('--prefix') + 1]!
      const status = await tokenquotaInProcess(['status', '--user', 'alice', '--plan', 'premium', '--config', config, '--prefix', prefix, '--json'], {
        UPSTASH_REDIS_REST_URL: rest.url,
        UPSTASH_REDIS_REST_TOKEN: 'secret-token',
      })
      expect(status.code, status.stderr).toBe(0)
      expect((JSON.parse(status.stdout) as PolicyInspection[]).find((row) => row.policy === 'user-daily')!.used).toBe(120)
    } finally {
      await rest.close()
    }
  })
})
