import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { temporaryFolder } from '@tokenquota/test-support'
import { describe, expect, it } from 'vitest'
import { loadQuotaConfig, parseQuotaConfig } from './config-file.js'
import { QuotaConfigError, TokenQuotaExceededError } from '../shared/errors.js'
import { createFakeClock } from '../testing/fake-clock.js'
import { createTokenQuota } from '../engine/token-quota.js'
import { priceTable } from '../price/rates-table.js'
import type { WindowedQuotaPolicy } from '../policy/policy-types.js'

const strategyNote = fileURLToPath(new URL('./__fixtures__/token_limits.yaml', import.meta.url))

async function tempFile(name: string, text: string): Promise<string> {
  const path = join(await temporaryFolder(), name)
  await writeFile(path, text)
  return path
}

describe('loadQuotaConfig', () => {
  it("turns the strategy note's token_limits.yaml into working hierarchical policies", async () => {
    const config = await loadQuotaConfig(strategyNote)
    expect(config.policies.map((policy) => policy.name)).toEqual([
      'organization-monthly',
      'organization-daily',
      'project-daily',
      'user-daily',
      'user-requests-per-minute',
    ])
    expect(config.alerts.at(-1)).toEqual({ threshold: 1, action: 'block', fallback: 'cache' })

    const clock = createFakeClock('2026-03-14T10:00:00Z')
    const quota = createTokenQuota({ policies: config.policies, now: clock.now })
    const alice = { user: 'alice', plan: 'standard', project: 'production' }
    const status = await quota.status(alice)
    expect(status.map((entry) => [entry.name, entry.allowed])).toEqual([
      ['organization-monthly', 10_000_000],
      ['organization-daily', 500_000],
      ['project-daily', 200_000],
      ['user-daily', 10_000],
      ['user-requests-per-minute', 30],
    ])
    // request_limit caps one request per project.
    await expect(quota.reserve(alice, { estimate: 4001 })).rejects.toMatchObject({ code: 'RequestTooLarge', policy: 'project-daily' })
    await expect(quota.reserve({ ...alice, project: 'development' }, { estimate: 2001 })).rejects.toMatchObject({ code: 'RequestTooLarge' })
    // An unknown project or plan is refused, never unlimited.
    await expect(quota.reserve({ ...alice, project: 'skunkworks' }, { estimate: 1 })).rejects.toMatchObject({
      code: 'UnknownQuotaClass',
      policy: 'project-daily',
    })
    await expect(quota.reserve({ ...alice, plan: 'free' }, { estimate: 1 })).rejects.toMatchObject({ code: 'UnknownQuotaClass', policy: 'user-daily' })
    // rate_limit counts requests in a rolling minute.
    for (let call = 0; call < 30; call += 1) await (await quota.reserve(alice, { estimate: 1 })).commit()
    const rate = await quota.reserve(alice, { estimate: 1 }).catch((error: unknown) => error)
    expect(TokenQuotaExceededError.isInstance(rate) && rate.policy).toBe('user-requests-per-minute')
  })

  it("gives projects' priority a share of the organization's budget: low stops at 80 %, high may use it all", async () => {
    const yaml = (shares = '') => `
organization:
  daily_cap: 1000
  daily_cap_usd: 10${shares}
projects:
  production: { daily_limit: 100000, priority: high }
  development: { daily_limit: 100000, priority: low }
  internal: { daily_limit: 100000 }
`
    const free = priceTable({ x: { input: 0, output: 0 } })
    const quota = createTokenQuota({ policies: parseQuotaConfig(yaml(), 'yaml').policies, now: createFakeClock().now, prices: [free] })
    const production = { project: 'production', model: 'x' }
    const development = { project: 'development', model: 'x' }
    expect((await quota.status(development)).map((entry) => entry.allowed)).toEqual([800, 8, 100_000])
    expect((await quota.status({ project: 'internal', model: 'x' })).map((entry) => entry.allowed)).toEqual([1000, 10, 100_000])
    await (await quota.reserve(development, { estimate: 700 })).commit({ total: 700 })
    // 700 of the 800 low priority may use: 101 more does not fit; high priority still has 300.
    await expect(quota.reserve(development, { estimate: 101 })).rejects.toMatchObject({ policy: 'organization-daily', limit: 800 })
    await (await quota.reserve(production, { estimate: 300 })).commit({ total: 300 })
    await expect(quota.reserve(production, { estimate: 1 })).rejects.toMatchObject({ policy: 'organization-daily', limit: 1000 })

    const custom = parseQuotaConfig(yaml('\n  priority_shares: { high: 1, low: 0.5 }'), 'yaml')
    const halved = createTokenQuota({ policies: custom.policies, prices: [free] })
    expect((await halved.status(development))[0]!.allowed).toBe(500)
    expect(() => parseQuotaConfig(yaml().replace('priority: low', 'priority: urgent'), 'yaml')).toThrow(/projects.development.priority.*one of high, low/)
    expect(() => parseQuotaConfig(yaml('\n  priority_shares: { low: 1.5 }'), 'yaml')).toThrow(/priority_shares.low/)
    expect(() => parseQuotaConfig('projects:\n  a: { daily_limit: 1, priority: low }\n', 'yaml')).toThrow(/organization/)
  })

  it('maps alerts to soft thresholds and a throttle paced from the plan rate', async () => {
    const config = await loadQuotaConfig(strategyNote)
    const userDaily = config.policies.find((policy) => policy.name === 'user-daily') as WindowedQuotaPolicy
    expect(userDaily.thresholds).toMatchObject([
      { at: 0.8, action: 'warn', channels: ['slack', 'email'] },
      { at: 0.95, action: 'throttle' },
    ])
    const pace = userDaily.thresholds![1]!.minIntervalMs as (context: object) => number
    expect(pace({ plan: 'premium' })).toBe(1200) // 100 rpm at half speed
    expect(pace({ plan: 'standard' })).toBe(4000)
  })

  it('reads money budgets: an organization in dollars per month, users per plan per day', async () => {
    const yaml = [
      'organization:',
      '  monthly_budget_usd: 5000',
      'users:',
      '  tier_free:',
      '    daily_budget_usd: 0.5',
      '    daily_limit: 20000',
      '  tier_pro:',
      '    daily_budget_usd: 20',
      '    daily_limit: 200000',
      'alerts:',
      '  - threshold: 0.8',
      '    action: warn',
    ].join('\n')
    const { policies } = parseQuotaConfig(yaml, 'yaml')
    expect(policies).toMatchObject([
      { name: 'organization-monthly-usd', count: 'usd', allow: 5000, timeUnit: 'month', thresholds: [{ at: 0.8 }] },
      { name: 'user-daily', allow: { class: 'plan', counts: { free: 20000, pro: 200000 } } },
      { name: 'user-daily-usd', count: 'usd', identifier: 'user', allow: { class: 'plan', counts: { free: 0.5, pro: 20 } }, timeUnit: 'day' },
    ])
    const quota = createTokenQuota({ policies })
    const lease = await quota.reserve({ user: 'ann', plan: 'free' }, { estimate: { input: 1000, output: 1000 }, model: 'gpt-4o-mini' })
    const result = await lease.commit({ input: 1000, output: 1000 })
    expect(result.charges.map((charge) => charge.unit)).toEqual(['usd', 'tokens', 'usd'])
    await expect(quota.reserve({ user: 'ann', plan: 'free' }, { estimate: { input: 1000, output: 18_000 }, model: 'o1' })).rejects.toMatchObject({
      code: 'RequestTooLarge',
      policy: 'user-daily-usd',
      limit: 0.5,
    })
    expect(() => parseQuotaConfig('organization:\n  monthly_budget_usd: -1\n', 'yaml')).toThrow(/organization.monthly_budget_usd/)
  })

  it('shows a YAML .nan or .inf as NaN or Infinity, not as null', () => {
    const message = (text: string) => {
      try {
        parseQuotaConfig(text, 'yaml')
      } catch (error) {
        if (QuotaConfigError.isInstance(error)) return error.message
        throw error
      }
      throw new Error('expected a QuotaConfigError')
    }
    expect(message('organization:\n  daily_cap: .nan\n')).toContain('got `NaN`')
    expect(message('organization:\n  monthly_budget_usd: .inf\n')).toContain('got `Infinity`')
    expect(message('organization:\n  daily_cap: [1, .nan]\n')).toContain('got `[1,NaN]`')
  })

  it("says in one line where a YAML does not parse (the CLI prints a message as one line; the parser's code frame stays in cause)", () => {
    let caught: unknown
    try {
      parseQuotaConfig('policies:\n  - name: p\n    allow: [\n', 'yaml')
    } catch (error) {
      caught = error
    }
    expect(QuotaConfigError.isInstance(caught)).toBe(true)
    const { message, cause } = caught as QuotaConfigError
    expect(message).toMatch(/^The YAML does not parse: .* at line \d+, column \d+$/)
    expect((cause as Error).message).toContain('allow: [')
  })

  it('reads JSON and code-shaped policies', async () => {
    const path = await tempFile(
      'limits.json',
      JSON.stringify({ policies: [{ name: 'user-hourly', identifier: 'user', allow: 5000, interval: 1, timeUnit: 'hour', type: 'rollingwindow' }] }),
    )
    const config = await loadQuotaConfig(path)
    expect(config.policies).toEqual([{ name: 'user-hourly', identifier: 'user', allow: 5000, interval: 1, timeUnit: 'hour', type: 'rollingwindow' }])
  })

  it.each(['json', 'yaml'] as const)('reads a %s file that starts with a byte order mark (what Notepad saves)', (format) => {
    const policy = { name: 'p', identifier: 'user', allow: 5, interval: 1, timeUnit: 'day' }
    const text = format === 'json' ? JSON.stringify({ policies: [policy] }) : `policies:\n  - ${JSON.stringify(policy)}\n`
    expect(parseQuotaConfig(`\uFEFF${text}`, format).policies).toEqual([policy])
  })

  it.each([
    ['an unknown tier field', 'users:\n  tier_free:\n    daily_limt: 10\n', 'users.tier_free.daily_limt'],
    ['a negative budget', 'organization:\n  monthly_budget: -5\n', 'organization.monthly_budget'],
    ['a text budget', 'organization:\n  daily_cap: lots\n', 'organization.daily_cap'],
    ['an unknown top-level key', 'organisation:\n  daily_cap: 5\n', '(root).organisation'],
    ['a block alert below 1', 'alerts:\n  - threshold: 0.9\n    action: block\n', 'alerts[0].threshold'],
    ['a warn alert at 1', 'alerts:\n  - threshold: 1\n    action: warn\n', 'alerts[0].action'],
    ['a reduction on a warn alert', 'alerts:\n  - threshold: 0.5\n    action: warn\n    reduction: 0.5\n', 'alerts[0].reduction'],
  ])('rejects %s, naming the field', async (_, yaml, field) => {
    await expect(loadQuotaConfig(await tempFile('limits.yaml', yaml))).rejects.toMatchObject({ code: 'InvalidConfiguration', field })
  })

  it('validates code-shaped policies like code', async () => {
    const yaml = 'policies:\n  - name: hourly\n    allow: 10\n    interval: 0.5\n    timeUnit: hour\n'
    await expect(loadQuotaConfig(await tempFile('limits.yml', yaml))).rejects.toMatchObject({
      code: 'InvalidQuotaInterval',
      policy: 'hourly',
      field: 'interval',
    })
  })

  it('reads policies of tool calls: a tool quota charged by tool calls only', async () => {
    const yaml = [
      'policies:',
      '  - name: user-daily',
      '    identifier: user',
      '    allow: 10000',
      '    interval: 1',
      '    timeUnit: day',
      '  - name: web-searches',
      '    identifier: user',
      '    tools: [web_search, "mcp:search/*"]',
      '    allow: 1',
      '    interval: 1',
      '    timeUnit: day',
      '',
    ].join('\n')
    const { policies } = await loadQuotaConfig(await tempFile('limits.yaml', yaml))
    const quota = createTokenQuota({ policies })
    await (await quota.reserve({ user: 'ann' }, { tool: 'mcp:search/query' })).commit()
    await expect(quota.reserve({ user: 'ann' }, { tool: 'web_search' })).rejects.toMatchObject({ code: 'TokenQuotaExceeded', policy: 'web-searches' })
    await (await quota.reserve({ user: 'ann' }, { model: 'gpt-4o', estimate: 10 })).commit({ total: 10 })
    expect((await quota.status({ user: 'ann' })).map(({ name, used, unit }) => [name, used, unit])).toEqual([
      ['user-daily', 10, 'tokens'],
      ['web-searches', 1, 'requests'],
    ])
  })

  it.each([
    ['a tool name instead of a list', '    tools: web_search\n', 'tools'],
    ['an empty list of tools', '    tools: []\n', 'tools'],
    ['tools beside models', '    tools: [web_search]\n    models: [gpt-4o]\n', 'tools'],
    ['a tool policy counting dollars', '    tools: [web_search]\n    count: usd\n', 'count'],
  ])('rejects %s in a policy, naming the policy and field', async (_, selector, field) => {
    const yaml = `policies:\n  - name: searches\n    allow: 5\n    interval: 1\n    timeUnit: day\n${selector}`
    await expect(loadQuotaConfig(await tempFile('limits.yaml', yaml))).rejects.toMatchObject({ code: 'InvalidConfiguration', policy: 'searches', field })
  })

  it('reads credit balances and a plan allowance that spills into them', async () => {
    const yaml = [
      'policies:',
      '  - { name: plan, identifier: user, allow: 100, interval: 1, timeUnit: month, spillTo: credits }',
      '  - { name: credits, type: balance, identifier: user, lowAt: 10 }',
    ].join('\n')
    const { policies } = await loadQuotaConfig(await tempFile('credits.yaml', yaml))
    const clock = createFakeClock('2026-05-01T00:00:00Z')
    const quota = createTokenQuota({ policies, now: clock.now })
    await quota.admin.topUp({ policy: 'credits', context: { user: 'u' }, amount: 50, key: 'pack' })
    const lease = await quota.reserve({ user: 'u' }, { estimate: 120 })
    expect((await lease.commit({ input: 120, output: 0 })).charges.map((charge) => [charge.policy, charge.amount])).toEqual([
      ['plan', 100],
      ['credits', 20],
    ])
    expect(() => parseQuotaConfig('policies:\n  - { name: credits, type: balance, allow: 5 }\n', 'yaml')).toThrow(
      expect.objectContaining({ code: 'InvalidConfiguration', field: 'allow' }),
    )
  })

  it('types unreadable, unparsable and unsupported files', async () => {
    await expect(loadQuotaConfig('/nonexistent/limits.yaml')).rejects.toSatisfy(QuotaConfigError.isInstance)
    await expect(loadQuotaConfig(await tempFile('limits.yaml', 'users: [unclosed'))).rejects.toMatchObject({ code: 'InvalidConfiguration' })
    await expect(loadQuotaConfig('limits.toml')).rejects.toMatchObject({ code: 'InvalidConfiguration' })
    expect(() => parseQuotaConfig('{}', 'json')).toThrow(/non-empty array/)
  })
})

describe('billing cycles in a config file', () => {
  const year = new Date(createFakeClock().now()).getUTCFullYear() + 1

  it('billing_cycle anchors the users’ monthly limits and keeps a cycle’s usage across a plan change', async () => {
    const config = parseQuotaConfig(
      [
        'users:',
        '  tier_basic: { monthly_limit: 100, monthly_budget_usd: 5 }',
        '  tier_pro: { monthly_limit: 500, monthly_budget_usd: 20 }',
        'billing_cycle:',
        '  anchor: subscribedAt',
        '  time_zone: Asia/Tokyo',
      ].join('\n'),
      'yaml',
    )
    const monthly = config.policies.find((policy) => policy.name === 'user-monthly')
    expect(monthly).toMatchObject({ anchor: 'subscribedAt', timeZone: 'Asia/Tokyo', allow: { shareCounter: true } })
    expect(config.policies.find((policy) => policy.name === 'user-monthly-usd')).toMatchObject({ anchor: 'subscribedAt', allow: { shareCounter: true } })
    const clock = createFakeClock(Date.UTC(year, 1, 20))
    const quota = createTokenQuota({ policies: [monthly!], now: clock.now })
    const basic = { user: 'ann', plan: 'basic', subscribedAt: `${year}-01-31` }
    await (await quota.reserve(basic, { estimate: 90 })).commit({ total: 90 })
    // Tokyo's midnight of the clamped 28 February is 15:00 UTC on the 27th.
    expect((await quota.status({ ...basic, plan: 'pro' }))[0]).toMatchObject({ allowed: 500, used: 90, resetAt: Date.UTC(year, 1, 27, 15) })
  })

  it('reads anchor and shareCounter on code-shaped policies, and refuses a broken billing_cycle', () => {
    const config = parseQuotaConfig(
      JSON.stringify({
        policies: [
          {
            name: 'plan',
            identifier: 'user',
            interval: 1,
            timeUnit: 'year',
            anchor: 'subscribedAt',
            allow: { class: 'plan', counts: { a: 1 }, shareCounter: true },
          },
        ],
      }),
      'json',
    )
    expect(config.policies[0]).toMatchObject({ anchor: 'subscribedAt', allow: { shareCounter: true } })
    const rolling = parseQuotaConfig(
      [
        'policies:',
        '  - { name: plan, identifier: user, allow: 100, interval: 1, timeUnit: month, anchor: subscribedAt, spillTo: credits,',
        '      rollover: { into: credits, share: 0.5, expiresAfterCycles: 2 } }',
        '  - { name: credits, type: balance, identifier: user }',
      ].join('\n'),
      'yaml',
    )
    expect(rolling.policies[0]).toMatchObject({ rollover: { into: 'credits', share: 0.5, expiresAfterCycles: 2 } })
    expect(() =>
      parseQuotaConfig(
        'policies:\n  - { name: p, allow: 1, interval: 1, timeUnit: month, anchor: a, rollover: { into: p, share: 2, expiresAfterCycles: 1 } }',
        'yaml',
      ),
    ).toThrow(/rollover.share/)
    expect(() => parseQuotaConfig('billing_cycle: { anchor: 3 }', 'yaml')).toThrow(/billing_cycle.anchor/)
    expect(() => parseQuotaConfig('billing_cycle: { anchor: x, day: 3 }', 'yaml')).toThrow(/billing_cycle.day/)
    expect(() => parseQuotaConfig('users: { tier_a: { monthly_limit: 5 } }\nbilling_cycle: { anchor: x, time_zone: Mars/Base }', 'yaml')).toThrow(
      QuotaConfigError,
    )
    expect(() =>
      parseQuotaConfig(JSON.stringify({ policies: [{ name: 'p', interval: 1, timeUnit: 'day', allow: 1, anchor: 'subscribedAt' }] }), 'json'),
    ).toThrow(/timeUnit: day/)
  })
})
