// @tokenquota/core/store: the protocol a quota store implements (memory, Redis, Upstash, your own).
// `@tokenquota/core/testing` has the contract suite that checks an implementation. The stores an app
// creates (`MemoryStore`, `SyncedStore`) are at the root; the Redis and Upstash ones at /redis and /upstash.
export type {
  Charge,
  ChargeOutcome,
  CounterRead,
  CounterRef,
  CounterRefusal,
  CounterRequest,
  CounterSnapshot,
  ExtendRequest,
  InspectLeaseRequest,
  LeaseExpiry,
  StoredLease,
  QuotaStore,
  ReadRequest,
  StoreReserveRequest,
  StoreHold,
  MaybePromise,
  ReserveResult,
  SettleRequest,
  WindowSpec,
} from './quota-store.js'
export type {
  StoreAdmin,
  OverrideTarget,
  OverrideKind,
  OverrideValue,
  OverrideWrite,
  OverrideChange,
  OverrideOutcome,
  AdminStep,
  AdminOutcome,
  ResetWrite,
  TargetOverrides,
  CounterOverrides,
  LastRefusal,
  CounterAdminState,
  AdminRead,
} from './store-admin.js'
export type {
  BalanceRef,
  CreditGrant,
  LedgerKind,
  LedgerEntry,
  CreditWrite,
  CreditWriteOutcome,
  BalanceState,
  BalanceRead,
  LedgerRead,
  StoreCredits,
} from './credit-protocol.js'
export { creditSpendOrder, defaultCreditPriority } from './credit-protocol.js'
export { effectiveLimit } from './algebra/index.js'
export { overrideEnd } from './store-admin.js'
