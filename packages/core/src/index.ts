export { createTokenQuota } from './engine/token-quota.js'
export type { TokenQuota } from './engine/token-quota.js'
export type { TokenQuotaOptions, ReserveRequest } from './engine/token-quota-options.js'
export type {
  QuotaAdmin,
  AdminTarget,
  AdminActor,
  AdminResult,
  AllowOverride,
  Grant,
  OverrideInForce,
  RefusalRecord,
  PolicyInspection,
} from './engine/quota-admin.js'
export type { AnchorWrite } from './engine/stored-anchors.js'
export type { AuditEntry } from './store/store-admin.js'
export { MemoryStore } from './store/memory-store.js'
export type { MemoryStoreOptions } from './store/memory-store.js'
export { SyncedStore } from './store/synced-store.js'
export type { SentCharge, SyncedStoreOptions } from './store/synced-store.js'
export {
  TokenQuotaError,
  TokenQuotaExceededError,
  QuotaConfigError,
  QuotaInputError,
  InsufficientCreditsError,
  StoreUnavailableError,
  LeaseSettledError,
  UnpricedModelError,
} from './shared/errors.js'
export type {
  TokenQuotaErrorCode,
  TokenQuotaExceededCode,
  QuotaConfigErrorCode,
  QuotaInputErrorCode,
  QuotaViolation,
  CreditErrorUnit,
} from './shared/errors.js'
export { estimateTokens } from './estimate/estimate.js'
export type { EstimateOptions, TokenEstimator } from './estimate/estimate.js'
export type { TokenizerFamily } from './estimate/tokenizer-family.js'
export type { EstimateStats } from './estimate/estimate-learning.js'
export type { StreamAbortCharge } from './adapter/metered-call.js'
export type { FallbackOption, FallbackInfo, FallbackAnswer } from './adapter/fallback.js'
export { ResponseCache } from './adapter/response-cache.js'
export type { ResponseCacheOptions } from './adapter/response-cache.js'
export type { QuotaLease, CommitResult, CommitOptions, PolicyCharge, CallCost } from './engine/lease.js'
export { genaiPrices } from './price/genai-prices.js'
export { priceTable } from './price/rates-table.js'
export { litellmPrices } from './price/litellm-prices.js'
export type { LiteLLMPriceEntry } from './price/litellm-prices.js'
export type { PriceTable, ModelPricing, ModelRates, PriceSource } from './price/price-table.js'
export type { PolicyDecision } from './plan/decision.js'
export { rateLimitHeaders } from './plan/rate-limit-headers.js'
export type { RateLimitHeaderOptions } from './plan/rate-limit-headers.js'
export type {
  QuotaEventMap,
  QuotaEventName,
  QuotaEventHandlers,
  ThresholdEvent,
  ExceededEvent,
  UsageEvent,
  FallbackEvent,
  StoreErrorEvent,
  StoreReplayedEvent,
  ThrottleEvent,
  WarningEvent,
  LeaseExpiredEvent,
  RolloverEvent,
  CreditsLowEvent,
  CreditsExpiredEvent,
  CreditsUnpaidEvent,
  CreditsToppedUpEvent,
} from './engine/events.js'
export type {
  CreditAdmin,
  CreditTarget,
  TopUp,
  CreditCorrection,
  CreditBalance,
  CreditGrantView,
  CreditLedgerRow,
  CreditWriteResult,
} from './engine/credit-admin.js'
export type {
  QuotaPolicy,
  WindowedQuotaPolicy,
  BalanceQuotaPolicy,
  QuotaClassAllow,
  QuotaThreshold,
  TokenWeights,
  CountMode,
  MaxTokensPerRequest,
  UnidentifiedPolicy,
  UnpricedRate,
} from './policy/policy-types.js'
export type { QuotaContext, Usage, NormalizedUsage, TokenEstimate, TimeUnit, QuotaType, QuotaMode } from './shared/types.js'
export type { PolicyType } from './policy/normalized-policy.js'
