export { TokenQuotaCallbackHandler } from './token-quota-callback-handler.js'
export type { TokenQuotaCallbackHandlerOptions, RunInfo } from './token-quota-callback-handler.js'
