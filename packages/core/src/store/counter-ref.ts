/**
 * Where a counter's window lives. The engine computes calendar arithmetic; the store only compares
 * and adds numbers, so the same protocol fits an in-memory map and a Lua script.
 */
export type WindowSpec =
  /** `default` and `calendar` windows: known start and end. */
  | { readonly kind: 'fixed'; readonly start: number; readonly end: number }
  /** `flexi` windows: the store keeps the start; a new window opened now would end at `endIfStartedNow`. */
  | { readonly kind: 'flexi'; readonly endIfStartedNow: number }
  /** `rollingwindow`: tokens in `(now - length, now]`, kept in buckets of `bucket` ms. */
  | { readonly kind: 'rolling'; readonly length: number; readonly bucket: number }
  /**
   * A credit balance (`type: 'balance'`): no window, never resets. Its capacity is the store's
   * unexpired credit grants, not a request's `limit` (see `StoreCredits` in `credit-protocol.ts`).
   */
  | { readonly kind: 'balance' }

/** Names one counter: a counter family (policy or shared name, plus class) and an identifier. */
export interface CounterRef {
  /** Counter family, e.g. `user-daily` or `user-daily#premium`. Never contains `\u0000`. */
  readonly counter: string
  /** The identifier's key: any string up to a few hundred characters (the engine hashes longer ones). */
  readonly identifier: string
  readonly window: WindowSpec
}
