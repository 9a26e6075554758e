export { tokenQuotaMiddleware } from './token-quota-middleware.js'
export type { TokenQuotaMiddlewareOptions, LanguageModelLike, ModelFallback, ModelFallbackInfo } from './token-quota-middleware.js'
export { usageOfResult } from './usage.js'
