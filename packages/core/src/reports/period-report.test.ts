import { describe, expect, it } from 'vitest'
import { periodReport } from './period-report.js'
import { MemoryUsageStore } from './usage-store.js'

describe('periodReport', () => {
  it('sums the last days, ranks consumers by the chosen dimension and projects the month at the period burn rate', async () => {
    const store = new MemoryUsageStore()
    const now = Date.parse('2026-11-20T12:00:00Z')
    await store.addUsage({ day: '2026-11-01', tokens: 1000, attribution: { user: ['old'] } }) // in the month, not in the period
    await store.addUsage({ day: '2026-11-19', tokens: 300, attribution: { user: ['alice'], model: ['gpt-4o'] } })
    await store.addUsage({ day: '2026-11-20', tokens: 100, attribution: { user: ['bob'], model: ['gpt-4o-mini'] } })
    await store.addUsage({ day: '2026-11-20', tokens: 200, attribution: { user: ['alice'], model: ['gpt-4o'] } })

    const report = await periodReport(store, { now, days: 2, by: 'model' })
    expect(report).toMatchObject({ from: '2026-11-19', to: '2026-11-20', totals: { tokens: 600, requests: 3 }, tokensPerRequest: 200 })
    expect(report.consumers.map(({ name, tokens }) => [name, tokens])).toEqual([
      ['gpt-4o', 500],
      ['gpt-4o-mini', 100],
    ])
    // 600 tokens over 36 hours; 10.5 days (252 h) left in November; 1600 so far this month.
    expect(report.burnRatePerHour).toBeCloseTo(600 / 36)
    expect(report.projectedMonth).toBe(Math.round(1600 + (600 / 36) * 252))
    expect((await periodReport(store, { now, days: 30 })).consumers[0]).toMatchObject({ name: 'old', tokens: 1000 })
  })
})
