// The counter algebra: pure, synchronous rules every store shares (memory, synced, and any new
// store with only its own I/O). The Lua scripts in `../redis/lua/` are the one other implementation.
export { expiredForgotten, expiredRetentionMs, expiryChange, type HoldFate, isExpired, settleChange, settlesInPlace, type TallyChange } from './holds.js'
export { counterOverrides, effectiveLimit, fits, grantsInForce, inForce, overridesAfter, overridesFor, overridesInForce, targetInForce } from './limits.js'
export { fillShares } from './fill.js'
export { rollingRetryAt } from './retry.js'
export {
  addToBucket,
  advanceRolling,
  bucketInWindow,
  bucketLeavesAt,
  bucketStart,
  evictable,
  firstBucket,
  type RollingTotals,
  resetAfterHold,
  rollingPlacement,
  rollingResetAt,
  type Tally,
  windowOpen,
} from './windows.js'
export {
  applyCreditWrite,
  balanceOf,
  chargeRow,
  checkCreditWrite,
  checkNewTopUpExpiry,
  creditsTooLarge,
  creditsTooLargeOf,
  type CreditsTooLarge,
  creditRoom,
  creditSettleChange,
  creditWriteApplies,
  creditWriteFingerprint,
  drawCredits,
  expireGrants,
  expiryRows,
  type GrantDraw,
  inSpendOrder,
  type LedgerChange,
  ledgerRow,
  refundCredits,
  refundGrantKey,
  refundRow,
} from './credits.js'
