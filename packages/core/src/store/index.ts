// @tokenquota/core/store: the protocol a quota store implements (memory, Redis, Upstash, your own).
// `@tokenquota/core/testing` has the contract suite that checks an implementation.
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
  AuditEntry,
  AdminRead,
} from './store-admin.js'
export { effectiveLimit } from './algebra/index.js'
export { overrideEnd } from './store-admin.js'
export { MemoryStore } from './memory-store.js'
export type { MemoryStoreOptions } from './memory-store.js'
export { SyncedStore } from './synced-store.js'
export type { SentCharge, SyncedStoreOptions } from './synced-store.js'
