import { metrics, type Attributes, type Meter } from '@opentelemetry/api'
import type { TokenQuota } from '../engine/token-quota.js'
import type { QuotaContext } from '../shared/types.js'

export interface QuotaMetricsOptions {
  /** @default the global meter provider's `tokenquota` meter */
  readonly meter?: Meter
  /**
   * Attributes added from the caller's context. Defaults to the user, project and org: mind the
   * cardinality of your metrics backend with many users.
   */
  readonly attributes?: (context: QuotaContext) => Attributes
}

function defaultAttributes(context: QuotaContext): Attributes {
  const attributes: Attributes = {}
  for (const key of ['user', 'project', 'org'] as const) {
    if (typeof context[key] === 'string') attributes[`tokenquota.${key}`] = context[key]
  }
  return attributes
}

/**
 * Reports a quota's activity as OpenTelemetry metrics (needs `@opentelemetry/api`):
 * - `gen_ai.client.token.usage` — histogram of charged tokens per call, the GenAI semantic
 *   convention's metric, with `gen_ai.token.type` (`input` / `output`) and `gen_ai.request.model`;
 * - `tokenquota.cost` — counter of what priced calls cost (calls under a money policy), in US dollars,
 *   with `gen_ai.request.model` and `tokenquota.price.table`;
 * - `tokenquota.refusals` — counter of refused calls, with `tokenquota.policy` and `tokenquota.code`;
 * - `tokenquota.fallbacks` — counter of fallbacks, with `tokenquota.fallback.kind`, `…from`, `…to`.
 * Returns a function that stops reporting.
 */
export function recordQuotaMetrics(quota: TokenQuota, options: QuotaMetricsOptions = {}): () => void {
  const meter = options.meter ?? metrics.getMeter('tokenquota')
  const attributesOf = options.attributes ?? defaultAttributes
  const usage = meter.createHistogram('gen_ai.client.token.usage', { unit: '{token}', description: 'Number of input and output tokens used' })
  const cost = meter.createCounter('tokenquota.cost', { unit: 'USD', description: 'What priced model calls cost' })
  const refusals = meter.createCounter('tokenquota.refusals', { unit: '{call}', description: 'Model calls refused by a token quota' })
  const fallbacks = meter.createCounter('tokenquota.fallbacks', { unit: '{call}', description: 'Model calls answered by a fallback' })
  const model = (name: string | undefined): Attributes => (name === undefined ? {} : { 'gen_ai.request.model': name })

  const stops = [
    quota.on('usage', (event) => {
      const base = { ...attributesOf(event.context), ...model(event.model), 'tokenquota.estimated': event.estimated }
      usage.record(event.usage.input, { ...base, 'gen_ai.token.type': 'input' })
      usage.record(event.usage.output, { ...base, 'gen_ai.token.type': 'output' })
      if (event.cost) cost.add(event.cost.usd, { ...base, 'tokenquota.price.table': event.cost.price.table })
    }),
    quota.on('exceeded', (event) => {
      refusals.add(1, { ...attributesOf(event.context), ...model(event.model), 'tokenquota.policy': event.error.policy, 'tokenquota.code': event.error.code })
    }),
    quota.on('fallback', (event) => {
      fallbacks.add(1, {
        ...attributesOf(event.context),
        'tokenquota.fallback.kind': event.kind,
        ...(event.from !== undefined && { 'tokenquota.fallback.from': event.from }),
        ...(event.to !== undefined && { 'tokenquota.fallback.to': event.to }),
        'tokenquota.policy': event.error.policy,
      })
    }),
  ]
  return () => {
    for (const stop of stops) stop()
  }
}
