// @tokenquota/core/reports: usage attributed to users, projects, orgs and models.
export { trackUsage } from './usage-reports.js'
export type { UsageReport, UsageTotals, Consumer, UsageAlert, UsageTracking, UsageTrackingOptions } from './usage-reports.js'
export { MemoryUsageStore } from './usage-store.js'
export type { UsageStore, UsageRecord, DayUsage, UsageDimension } from './usage-store.js'
export { periodReport } from './period-report.js'
export type { PeriodReport, PeriodReportOptions } from './period-report.js'
export type { CreditSummary, CreditRecord, CreditDay, CreditMovement } from './credit-usage.js'
