import { describe, expect, it } from 'vitest'
import { QuotaConfigError, QuotaInputError, TokenQuotaExceededError } from '../shared/errors.js'
import type { ExceededEvent, LeaseExpiredEvent, UsageEvent, WarningEvent } from './events.js'
import type { QuotaPolicy } from '../policy/policy-types.js'
import { createFakeClock } from '../testing/fake-clock.js'
import { createTokenQuota } from './token-quota.js'

// What a request is for (issue 28): a request names the model or the tool it consumes, and a
// policy selects model calls (all, or its `models`) or tool calls (its `tools`), never both.

const userDaily: QuotaPolicy = { name: 'user-daily', identifier: 'user', allow: 10_000, interval: 1, timeUnit: 'day' }
const gpt4oDaily: QuotaPolicy = { name: 'gpt-4o-daily', identifier: 'user', models: ['gpt-4o*'], allow: 5_000, interval: 1, timeUnit: 'day' }
const searches: QuotaPolicy = { name: 'web-searches', identifier: 'user', tools: ['web_search'], allow: 2, interval: 1, timeUnit: 'day' }
const githubTools: QuotaPolicy = { name: 'github-tools', identifier: 'user', tools: ['mcp:github/*'], allow: 3, interval: 1, timeUnit: 'hour' }
const alice = { user: 'alice' }

function setup(policies: readonly QuotaPolicy[] = [userDaily, gpt4oDaily, searches, githubTools]) {
  const clock = createFakeClock('2026-03-14T10:00:00Z')
  const warnings: WarningEvent[] = []
  const exceeded: ExceededEvent[] = []
  const usage: UsageEvent[] = []
  const quota = createTokenQuota({
    policies,
    now: clock.now,
    on: { warning: (event) => warnings.push(event), exceeded: (event) => exceeded.push(event), usage: (event) => usage.push(event) },
  })
  return { clock, quota, warnings, exceeded, usage }
}

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (caught: unknown) => caught,
  )
}

const used = async (quota: ReturnType<typeof setup>['quota']) => Object.fromEntries((await quota.status(alice)).map((entry) => [entry.name, entry.used]))

describe('a tool call', () => {
  it('is charged to the tool policies that select it, never to a token policy, and a tool quota refuses past its count', async () => {
    const { quota, exceeded, usage } = setup()
    for (let call = 0; call < 2; call += 1) {
      const lease = await quota.reserve(alice, { tool: 'web_search' })
      expect(lease.decisions.map((decision) => decision.name)).toEqual(['web-searches'])
      expect(await lease.commit()).toEqual({ charges: [{ policy: 'web-searches', identifier: 'alice', amount: 1, unit: 'requests' }], estimated: true })
    }
    const refusal = await errorOf(quota.reserve(alice, { tool: 'web_search' }))
    expect(TokenQuotaExceededError.isInstance(refusal)).toBe(true)
    expect(refusal).toMatchObject({ code: 'TokenQuotaExceeded', policy: 'web-searches', limit: 2, used: 2 })
    expect(exceeded.map((event) => [event.model, event.tool])).toEqual([[undefined, 'web_search']])
    expect(usage.map((event) => [event.model, event.tool])).toEqual([
      [undefined, 'web_search'],
      [undefined, 'web_search'],
    ])
    expect(await used(quota)).toEqual({ 'user-daily': 0, 'gpt-4o-daily': 0, 'web-searches': 2, 'github-tools': 0 })
  })

  it("is a tool call even when the context names a model: the context's model never selects token policies for it", async () => {
    const { quota } = setup()
    const lease = await quota.reserve({ ...alice, model: 'gpt-4o' }, { tool: 'web_search', estimate: 500 })
    expect(lease.decisions.map((decision) => decision.name)).toEqual(['web-searches'])
    await lease.commit({ total: 500 })
    expect(await used(quota)).toEqual({ 'user-daily': 0, 'gpt-4o-daily': 0, 'web-searches': 1, 'github-tools': 0 })
  })

  it('is selected by globs, case-insensitively like models', async () => {
    const { quota } = setup()
    await (await quota.reserve(alice, { tool: 'mcp:github/create_issue' })).commit()
    await (await quota.reserve(alice, { tool: 'MCP:GitHub/list_issues' })).commit()
    const other = await quota.reserve(alice, { tool: 'mcp:slack/post_message' })
    expect(other.decisions).toEqual([])
    await other.commit()
    expect(await used(quota)).toEqual({ 'user-daily': 0, 'gpt-4o-daily': 0, 'web-searches': 0, 'github-tools': 2 })
  })

  it('that no policy selects is admitted, charges nothing, and warns once per tool', async () => {
    const { quota, warnings } = setup()
    for (let call = 0; call < 2; call += 1) await (await quota.reserve(alice, { tool: 'code_interpreter', estimate: 100 })).commit({ total: 100 })
    expect(warnings.map((warning) => warning.code)).toEqual(['UnmatchedTool'])
    expect(warnings[0]!.message).toContain('"code_interpreter"')
    expect(await used(quota)).toEqual({ 'user-daily': 0, 'gpt-4o-daily': 0, 'web-searches': 0, 'github-tools': 0 })
  })

  it('left unsettled is charged its one call when its lease expires, and the event names the tool', async () => {
    const clock = createFakeClock('2026-03-14T10:00:00Z')
    const expired: LeaseExpiredEvent[] = []
    const quota = createTokenQuota({
      policies: [userDaily, searches],
      now: clock.now,
      leaseTtlMs: 60_000,
      on: { leaseExpired: (event) => expired.push(event) },
    })
    await quota.reserve(alice, { tool: 'web_search', estimate: 800 })
    clock.advance(60_000)
    expect((await quota.status(alice)).map(({ name, used, reserved }) => [name, used, reserved])).toEqual([
      ['user-daily', 0, 0],
      ['web-searches', 1, 0],
    ])
    expect(expired).toMatchObject([{ tool: 'web_search', model: undefined, outcome: 'charged', holds: [{ policy: 'web-searches', amount: 1 }] }])
  })

  it('is recorded (count-only) and checked like a reservation', async () => {
    const { quota } = setup()
    expect((await quota.record(alice, { total: 0 }, { tool: 'web_search' })).charges).toEqual([
      { policy: 'web-searches', identifier: 'alice', amount: 1, unit: 'requests' },
    ])
    expect((await quota.check(alice, { tool: 'web_search' })).map((decision) => [decision.name, decision.available])).toEqual([['web-searches', 1]])
    expect(await used(quota)).toEqual({ 'user-daily': 0, 'gpt-4o-daily': 0, 'web-searches': 1, 'github-tools': 0 })
  })
})

describe('a model call', () => {
  it('is charged to the model policies as before, never to a tool policy', async () => {
    const { quota } = setup()
    await (await quota.reserve(alice, { model: 'gpt-4o', estimate: 300 })).commit({ total: 300 })
    await (await quota.reserve(alice, { estimate: 200 })).commit({ total: 200 })
    expect(await used(quota)).toEqual({ 'user-daily': 500, 'gpt-4o-daily': 300, 'web-searches': 0, 'github-tools': 0 })
  })
})

describe('status', () => {
  it('lists the policies of a tool, of a model, or all of them', async () => {
    const { quota } = setup()
    const names = async (options?: { model?: string; tool?: string }) => (await quota.status(alice, options)).map((entry) => entry.name)
    expect(await names({ tool: 'web_search' })).toEqual(['web-searches'])
    expect(await names({ model: 'gpt-4o' })).toEqual(['user-daily', 'gpt-4o-daily'])
    expect(await names({ model: 'claude-sonnet-4' })).toEqual(['user-daily'])
    expect(await names()).toEqual(['user-daily', 'gpt-4o-daily', 'web-searches', 'github-tools'])
  })
})

describe('a request that names its resource badly', () => {
  it.each([
    ['a model and a tool', { model: 'gpt-4o', tool: 'web_search' }],
    ['an empty tool', { tool: '' }],
    ['a tool that is not a string', { tool: 42 as unknown as string }],
    ['a tool name over 256 characters', { tool: 'x'.repeat(257) }],
    // A number or an array for a model matched no glob (free under `models` policies) or threw a TypeError pricing it.
    ['a model that is not a string', { model: 5 as unknown as string }],
    ['a model that is an array', { model: ['gpt-4o'] as unknown as string }],
  ])('is refused with QuotaInputError InvalidResource and changes nothing: %s', async (_, request) => {
    const { quota } = setup()
    for (const attempt of [quota.reserve(alice, request), quota.check(alice, request), quota.record(alice, { total: 10 }, request)]) {
      const error = await errorOf(attempt)
      expect(QuotaInputError.isInstance(error), String(error)).toBe(true)
      expect(error).toMatchObject({ code: 'InvalidResource' })
    }
    expect(await used(quota)).toEqual({ 'user-daily': 0, 'gpt-4o-daily': 0, 'web-searches': 0, 'github-tools': 0 })
    expect((await quota.status(alice)).every((entry) => entry.reserved === 0)).toBe(true)
  })
})

describe('a policy with `tools`', () => {
  it('counts calls unless it says otherwise, and may count tokens', () => {
    const { quota } = setup([searches, { name: 'tool-tokens', tools: ['mcp:*'], count: 'total', allow: 9000, interval: 1, timeUnit: 'day' }])
    expect(quota.policies.map((policy) => [policy.name, policy.count, policy.unit])).toEqual([
      ['web-searches', 'requests', 'requests'],
      ['tool-tokens', 'total', 'tokens'],
    ])
  })

  it.each([
    ['beside `models`', { ...searches, models: ['gpt-4o'] }, 'tools'],
    ['empty', { ...searches, tools: [] }, 'tools'],
    ['not a list of names', { ...searches, tools: 'web_search' as unknown as string[] }, 'tools'],
    ['with an empty glob', { ...searches, tools: [''] }, 'tools'],
    ["counting dollars (a tool call has no model's price)", { ...searches, count: 'usd' as const }, 'count'],
  ])('is refused at construction with a typed error naming the field: %s', (_, policy, field) => {
    let error: unknown
    try {
      setup([userDaily, policy])
    } catch (caught) {
      error = caught
    }
    expect(QuotaConfigError.isInstance(error), String(error)).toBe(true)
    expect(error).toMatchObject({ code: 'InvalidConfiguration', policy: 'web-searches', field })
  })

  it('cannot share a counter with a policy of model calls', () => {
    expect(() =>
      setup([
        { ...userDaily, count: 'requests', sharedName: 'calls' },
        { ...searches, sharedName: 'calls' },
      ]),
    ).toThrow(expect.objectContaining({ code: 'InvalidConfiguration', policy: 'web-searches', field: 'tools' }))
  })
})
