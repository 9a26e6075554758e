export { recordQuotaMetrics } from './otel.js'
export type { QuotaMetricsOptions } from './otel.js'
