/**
 * Holds and their expiry, and the late settle that replaces an expiry charge: what each changes on
 * a counter's tally, with no storage. Lua twins: `expire_holds` (common.ts) and settle.ts.
 */

/** How long an expired lease is remembered, so that its late settle is charged once. Lua twin: `RETAIN` in common.ts. */
export const expiredRetentionMs = 3_600_000

/** What became of a hold: still holding, or expired and charged (`'charge'`) or returned (`'release'`). */
export type HoldFate = 'holding' | 'charged' | 'released'

/** A change to a tally: added to `used` and to `reserved`. */
export interface TallyChange {
  readonly used: number
  readonly reserved: number
}

/** Whether a hold that lives until `expiresAt` has expired at `now`. Lua twin: `expire_holds` (`ZRANGEBYSCORE -inf now`). */
export function isExpired(expiresAt: number, now: number): boolean {
  return expiresAt <= now
}

/**
 * What a hold's expiry changes where it was held: the hold is returned, and charged as usage
 * unless its lease said `onExpiry: 'release'` (a lost commit errs toward the quota).
 * Lua twin: `expire_holds` in common.ts.
 */
export function expiryChange(held: number, charge: boolean): TallyChange {
  return { used: charge ? held : 0, reserved: -held }
}

/**
 * What settling a lease changes on one counter, by its hold's fate:
 * - holding: the hold is returned and the real charge added, where it was held;
 * - expired and charged: the charge replaces what expiry charged, in the same place (the difference);
 * - expired and returned (or unknown): the charge, where the window is now.
 * `held` is what the reservation held there (0 when it held nothing on that counter).
 * Lua twin: settle.ts (`returned`, `replacing`).
 */
export function settleChange(fate: HoldFate, held: number, amount: number): TallyChange {
  if (fate === 'holding') return { used: amount, reserved: -held }
  if (fate === 'charged') return { used: amount - held, reserved: 0 }
  return { used: amount, reserved: 0 }
}

/** Whether a settle lands where the hold was placed (holding, or replacing an expiry charge) rather than where the window is now. */
export function settlesInPlace(fate: HoldFate | undefined): boolean {
  return fate === 'holding' || fate === 'charged'
}

/** Whether an expired lease can be forgotten at `now`: a late copy of its reservation then holds again. */
export function expiredForgotten(expiresAt: number, now: number): boolean {
  return expiresAt + expiredRetentionMs <= now
}
