export { withTokenQuota } from './with-token-quota.js'
export type { WithTokenQuotaOptions, OpenAILike } from './with-token-quota.js'
export type { FallbackOption, FallbackInfo, FallbackAnswer, StreamAbortCharge } from '@tokenquota/core'
export { createExactEstimator } from './exact-estimator.js'
