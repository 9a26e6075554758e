import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type DataPoint,
  type Histogram,
} from '@opentelemetry/sdk-metrics'
import { describe, expect, it } from 'vitest'
import { TokenQuotaExceededError } from '../shared/errors.js'
import { priceTable } from '../price/rates-table.js'
import { recordQuotaMetrics } from './otel.js'
import { createTokenQuota } from '../engine/token-quota.js'

async function collect(reader: PeriodicExportingMetricReader, exporter: InMemoryMetricExporter) {
  await reader.forceFlush()
  const metrics = exporter.getMetrics().flatMap((resource) => resource.scopeMetrics.flatMap((scope) => scope.metrics))
  return Object.fromEntries(metrics.map((metric) => [metric.descriptor.name, metric.dataPoints]))
}

describe('recordQuotaMetrics', () => {
  it('reports token usage as the GenAI histogram, and refusals and fallbacks as counters', async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 })
    const meter = new MeterProvider({ readers: [reader] }).getMeter('test')
    const quota = createTokenQuota({ policies: [{ name: 'user-daily', identifier: 'user', allow: 1000, interval: 1, timeUnit: 'day' }] })
    const stop = recordQuotaMetrics(quota, { meter })

    await (await quota.reserve({ user: 'alice', org: 'acme' }, { estimate: 500, model: 'gpt-4o' })).commit({ input: 300, output: 120 })
    await (await quota.reserve({ user: 'alice', org: 'acme' }, { estimate: 500, model: 'gpt-4o' })).commit({ input: 200, output: 80 })
    const refusal = await quota.reserve({ user: 'alice', org: 'acme' }, { estimate: 500, model: 'gpt-4o' }).catch((error: unknown) => error)
    expect(TokenQuotaExceededError.isInstance(refusal)).toBe(true)
    quota.emit('fallback', { kind: 'model', from: 'gpt-4o', to: 'gpt-4o-mini', error: refusal as TokenQuotaExceededError, context: { user: 'alice' } })

    const metrics = await collect(reader, exporter)
    const usage = metrics['gen_ai.client.token.usage'] as Array<DataPoint<Histogram>>
    const byType = Object.fromEntries(usage.map((point) => [point.attributes['gen_ai.token.type'], point]))
    expect(byType.input!.value).toMatchObject({ sum: 500, count: 2 })
    expect(byType.output!.value).toMatchObject({ sum: 200, count: 2 })
    expect(byType.input!.attributes).toMatchObject({ 'gen_ai.request.model': 'gpt-4o', 'tokenquota.user': 'alice', 'tokenquota.org': 'acme' })
    expect(metrics['tokenquota.refusals']).toMatchObject([
      { value: 1, attributes: { 'tokenquota.policy': 'user-daily', 'tokenquota.code': 'TokenQuotaExceeded' } },
    ])
    expect(metrics['tokenquota.fallbacks']).toMatchObject([
      { value: 1, attributes: { 'tokenquota.fallback.kind': 'model', 'tokenquota.fallback.to': 'gpt-4o-mini' } },
    ])

    stop()
    await (await quota.reserve({ user: 'bob' }, { estimate: 10 })).commit({ input: 5, output: 5 })
    const after = await collect(reader, exporter)
    expect((after['gen_ai.client.token.usage'] as Array<DataPoint<Histogram>>).every((point) => point.attributes['tokenquota.user'] !== 'bob')).toBe(true)
  })

  it('adds up what priced calls cost, in dollars, per model', async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 })
    const meter = new MeterProvider({ readers: [reader] }).getMeter('test')
    const quota = createTokenQuota({
      policies: [{ name: 'org-usd', identifier: 'org', count: 'usd', allow: 10, interval: 1, timeUnit: 'month' }],
      prices: priceTable({ 'gpt-4o': { input: 2, output: 8 } }),
    })
    recordQuotaMetrics(quota, { meter })
    await (await quota.reserve({ org: 'acme' }, { estimate: 10, model: 'gpt-4o' })).commit({ input: 100_000, output: 10_000 })
    await (await quota.reserve({ org: 'acme' }, { estimate: 10, model: 'gpt-4o' })).commit({ input: 50_000, output: 0 })
    const metrics = await collect(reader, exporter)
    expect(metrics['tokenquota.cost']).toMatchObject([{ attributes: { 'gen_ai.request.model': 'gpt-4o', 'tokenquota.price.table': 'overrides' } }])
    expect((metrics['tokenquota.cost'] as Array<DataPoint<number>>)[0]!.value).toBeCloseTo(0.38, 9)
  })
})
