export { withTokenQuota } from './with-token-quota.js'
export type { WithTokenQuotaOptions, OpenAILike } from './with-token-quota.js'
export { createExactEstimator } from './exact-estimator.js'
