import { describe, expect, it } from 'vitest'
import type { UsageEvent } from '../engine/events.js'
import { createTokenQuota } from '../engine/token-quota.js'
import { reserveCall } from './reserve-call.js'
import { StreamMeter } from './stream-meter.js'

const alice = { user: 'alice' }

/**
 * A streamed call reserved for a 10-token prompt and 20 output tokens (30: the plan's last 10, then
 * 20 credits) while the plan, 100 a month, has 90 used; the estimator counts characters.
 */
async function streamedCall() {
  const quota = createTokenQuota({
    policies: [
      { name: 'plan', identifier: 'user', allow: 100, interval: 1, timeUnit: 'month', spillTo: 'credits' },
      { name: 'credits', type: 'balance', identifier: 'user' },
    ],
    estimator: (text) => text.length,
  })
  await quota.admin.topUp({ policy: 'credits', context: alice, amount: 100, key: 'pack' })
  await (await quota.reserve(alice, { estimate: 90 })).commit({ total: 90 })
  const usage: UsageEvent[] = []
  quota.on('usage', (event) => usage.push(event))
  const reservation = await reserveCall({ quota }, { label: 'chat', context: alice, promptTokens: 10, outputTokens: 20, model: 'm', params: {} })
  if (reservation.kind !== 'metered') throw new Error('expected a metered call')
  const charged = async () => {
    const [plan] = await quota.status(alice)
    const credits = await quota.admin.credits({ policy: 'credits', context: alice })
    return {
      split: usage.map((event) => event.charges.map((charge) => `${charge.policy} ${charge.amount}`).join(' + ')),
      plan: plan!.used,
      credits: credits.balance,
    }
  }
  return { meter: new StreamMeter(reservation.call), charged }
}

describe('a streamed call beyond its estimate, on a plan that spills into credits', () => {
  it('charges what the stream reported above the hold to the credits: uses 50 → plan 10 + credits 40', async () => {
    const { meter, charged } = await streamedCall()
    meter.text('a long answer')
    await meter.usage({ input: 10, output: 40 })
    await meter.end()
    expect(await charged()).toEqual({ split: ['plan 10 + credits 40'], plan: 100, credits: 60 })
  })

  it('charges what an aborted stream produced above the hold to the credits: 10 + 35 produced → plan 10 + credits 35', async () => {
    const { meter, charged } = await streamedCall()
    meter.text('x'.repeat(35))
    await meter.stop()
    expect(await charged()).toEqual({ split: ['plan 10 + credits 35'], plan: 100, credits: 65 })
  })
})
