export { createTokenQuota } from './token-quota.js'
export type { TokenQuota, TokenQuotaOptions, ReserveRequest } from './token-quota.js'
export { MemoryStore } from './stores/memory-store.js'
export type { MemoryStoreOptions } from './stores/memory-store.js'
export { SyncedStore } from './stores/synced-store.js'
export type { SyncedStoreOptions } from './stores/synced-store.js'
export type {
  Charge,
  ChargeOutcome,
  CounterRef,
  CounterRefusal,
  CounterRequest,
  CounterSnapshot,
  LeaseExpiry,
  QuotaStore,
  ReadRequest,
  StoreReserveRequest,
  StoreHold,
  MaybePromise,
  ReserveResult,
  SettleRequest,
  WindowSpec,
} from './stores/quota-store.js'
export {
  TokenQuotaError,
  TokenQuotaExceededError,
  QuotaConfigError,
  QuotaInputError,
  StoreUnavailableError,
  LeaseSettledError,
} from './errors.js'
export type {
  TokenQuotaErrorCode,
  TokenQuotaExceededCode,
  QuotaConfigErrorCode,
  QuotaInputErrorCode,
  QuotaViolation,
} from './errors.js'
export { estimateTokens } from './estimate.js'
export type { TokenEstimator } from './estimate.js'
export type { EstimateStats } from './estimate-learning.js'
export { normalizeUsage } from './usage.js'
export { MeteredCall } from './metered-call.js'
export type { StreamAbortCharge } from './metered-call.js'
export { reserveCall } from './reserve-call.js'
export type { CallReservation } from './reserve-call.js'
export { resolveFallback } from './fallback.js'
export type { FallbackOption, FallbackInfo, FallbackAnswer, FallbackDecision } from './fallback.js'
export type { QuotaLease, CommitResult, CommitOptions } from './lease.js'
export type { PolicyDecision } from './decision.js'
export type {
  QuotaEventMap,
  QuotaEventName,
  QuotaEventHandlers,
  ThresholdEvent,
  ExceededEvent,
  UsageEvent,
  FallbackEvent,
  StoreErrorEvent,
  ThrottleEvent,
  WarningEvent,
  LeaseExpiredEvent,
} from './events.js'
export type {
  QuotaPolicy,
  QuotaClassAllow,
  QuotaThreshold,
  TokenWeights,
  CountMode,
  MaxTokensPerRequest,
  UnidentifiedPolicy,
} from './policy-types.js'
export type { QuotaContext, Usage, NormalizedUsage, TokenEstimate, TimeUnit, QuotaType, QuotaMode } from './types.js'
