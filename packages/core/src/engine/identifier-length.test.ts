import { describe, expect, it } from 'vitest'
import { QuotaInputError } from '../shared/errors.js'
import type { QuotaPolicy } from '../policy/policy-types.js'
import { MemoryStore } from '../store/memory-store.js'
import { createFakeClock } from '../testing/fake-clock.js'
import { createTokenQuota } from './token-quota.js'
import type { TokenQuotaOptions } from './token-quota-options.js'

// Each distinct identifier is a counter of its own: one of a million characters must be refused
// where the request's context is read, before the store sees it.
const long = 'x'.repeat(1_000_000)
const daily = { interval: 1, timeUnit: 'day' } as const

/** A quota over a MemoryStore that records every call the engine makes to it. */
function setup(policies: readonly QuotaPolicy[], options: Partial<TokenQuotaOptions> = {}) {
  const calls: string[] = []
  const memory = new MemoryStore()
  const store = new Proxy(memory, {
    get(target, key) {
      const value = Reflect.get(target, key, target) as unknown
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => {
        calls.push(String(key))
        return (value as (...args: unknown[]) => unknown).apply(target, args)
      }
    },
  })
  const quota = createTokenQuota({ policies, store, now: createFakeClock('2026-03-14T10:00:00Z').now, ...options })
  calls.length = 0
  return { quota, calls }
}

async function refusal(promise: Promise<unknown>): Promise<QuotaInputError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  )
  if (!QuotaInputError.isInstance(error)) throw new Error(`expected a QuotaInputError, got ${String(error)}`)
  return error
}

describe('identifiers longer than 256 characters', () => {
  it('are refused in the context: user, project, org and each tag, whatever the policies name', async () => {
    const { quota, calls } = setup([{ name: 'app-daily', allow: 1000, ...daily }])
    for (const context of [{ user: long }, { project: long }, { org: 'x'.repeat(257) }, { user: 'alice', tags: ['ok', long] }]) {
      const error = await refusal(quota.reserve(context, { estimate: 1 }))
      expect(error).toMatchObject({ code: 'InvalidIdentifier', status: 400 })
      expect(error.message).toMatch(/at most 256 characters, got a string of \d+ characters/)
      expect(error.message.length).toBeLessThan(200)
    }
    await refusal(quota.status({ user: long }))
    await refusal(quota.record({ user: long }, { input: 1, output: 1 }, {}))
    expect(() => quota.withContext({ user: long }, () => expect.unreachable())).toThrow(/at most 256 characters/)
    expect(calls).toEqual([])
  })

  it('are refused from any context key or identifier function a policy names, numbers included', async () => {
    const policies: QuotaPolicy[] = [
      { name: 'team-daily', identifier: 'team', allow: 1000, ...daily },
      { name: 'seat-daily', identifier: (context) => context.seat as string | number | undefined, allow: 1000, ...daily },
    ]
    const { quota, calls } = setup(policies)
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ team: long, seat: 's' }, /policy "team-daily": Expected the identifier \(context key `team`\) to be at most 256/],
      [{ team: 't', seat: long }, /policy "seat-daily": Expected the identifier to be at most 256/],
      [{ team: 't', seat: 10n ** 300n }, /got a string of 301 characters/],
    ]
    for (const [context, message] of cases) {
      const error = await refusal(quota.reserve(context, { estimate: 1 }))
      expect(error).toMatchObject({ code: 'InvalidIdentifier' })
      expect(error.message).toMatch(message)
    }
    expect(calls).toEqual([])
    // 256 characters is the most there is room for, and it is a counter of its own.
    await (await quota.reserve({ team: 'x'.repeat(256), seat: 'y'.repeat(256) }, { estimate: 1000 })).commit()
    await (await quota.reserve({ team: `${'x'.repeat(255)}z`, seat: `${'y'.repeat(255)}z` }, { estimate: 1000 })).commit()
  })

  it('are refused as a class (a count-only policy would count each class apart) and as a shard', async () => {
    const byPlan: QuotaPolicy = { name: 'plan-daily', identifier: 'user', allow: { class: 'plan', counts: { free: 10 } }, mode: 'count-only', ...daily }
    const classes = setup([byPlan])
    expect(await refusal(classes.quota.reserve({ user: 'alice', plan: long }, { estimate: 1 }))).toMatchObject({ code: 'InvalidContext' })
    expect(classes.calls).toEqual([])

    const shards = setup([{ name: 'user-daily', identifier: 'user', allow: 1000, ...daily }], { shardKey: (context) => context.region as string })
    expect(await refusal(shards.quota.reserve({ user: 'alice', region: long }, { estimate: 1 }))).toMatchObject({ code: 'InvalidContext' })
    const notAString = await refusal(shards.quota.reserve({ user: 'alice', region: 42 }, { estimate: 1 }))
    expect(notAString.message).toMatch(/shardKey function to return a string or undefined, got number/)
    expect(shards.calls).toEqual([])
  })
})
