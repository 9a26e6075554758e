import type { PriceTable } from '../price/price-table.js'
import type { TokenEstimator } from '../estimate/estimate.js'
import type { QuotaEventHandlers } from './events.js'
import type { QuotaPolicy, UnidentifiedPolicy } from '../policy/policy-types.js'
import type { LeaseExpiry, QuotaStore } from '../store/quota-store.js'
import type { QuotaContext, TokenEstimate } from '../shared/types.js'

/** Options of `createTokenQuota`: the policies and the store, and how the engine behaves around them. */
export interface TokenQuotaOptions {
  readonly policies: readonly QuotaPolicy[]
  /** @default new MemoryStore() */
  readonly store?: QuotaStore
  /** The clock for every window computation, in epoch ms. @default Date.now */
  readonly now?: () => number
  /**
   * How long a reservation holds capacity when it is never settled (a crashed call, a stream
   * nobody finished reading). Long enough for the slowest streamed call you make; at most 366 days.
   * @default 600_000 (10 minutes)
   */
  readonly leaseTtlMs?: number
  /**
   * What becomes of a reservation whose lease expires before it is committed or released — a
   * commit lost to a process exit, a crash, a serverless freeze or a store that stayed down:
   * `'charge'` charges the estimate it held (errs toward the quota), `'release'` returns it.
   * Either way a `leaseExpired` event says so (from this process, for its own leases), and a
   * commit that arrives later replaces the expiry charge with the real usage, once.
   * @default 'charge'
   */
  readonly onLeaseExpiry?: LeaseExpiry
  /** Default for policies whose identifier is missing from the context. @default 'refuse' */
  readonly unidentified?: UnidentifiedPolicy
  /**
   * When the store fails: `closed` refuses with `StoreUnavailableError`; `open` admits, counting
   * in a local in-memory store meanwhile, and emits `storeError`. Once the store answers again,
   * what was charged locally is written to it, once, and `storeReplayed` says so.
   * A request that touches a credit balance (`type: 'balance'`) fails closed either way: paid
   * credits are only in the store, so it is refused with `StoreUnavailableError` and a
   * `CreditsNeedStore` warning, never as `CreditsExhausted`.
   * @default 'closed'
   */
  readonly failureMode?: 'closed' | 'open'
  /**
   * When `lease.commit()` and `lease.release()` resolve.
   * - `background`: at once, with what was charged; the store write goes out right away (batched
   *   with others by the Redis stores), is retried on failure (settles are idempotent) and, if the
   *   store stays down, reported by `storeError` and a `ChargeLost` warning (the reservation is
   *   then charged at expiry, see `onLeaseExpiry`). The reservation keeps
   *   holding its estimate until the write lands, so no limit is ever loosened. `threshold` events
   *   fire when the write lands. `quota.flush()` waits for every write (call it before exiting).
   * - `await`: once the store has recorded it; a store failure rejects the commit.
   *
   * The embedded MemoryStore settles synchronously: both modes are the same there.
   * @default 'background'
   */
  readonly commitMode?: 'background' | 'await'
  /**
   * Prompt-token estimator used by adapters; they pass `{ model }` as its second argument, so the
   * default bounds that model's own tokenizer. @default a fast heuristic (`estimateTokens`)
   */
  readonly estimator?: TokenEstimator
  /**
   * Where money policies (`count: 'usd'`) get their prices: a table or a list (the first that
   * prices a model wins). @default `genaiPrices()` — `@pydantic/genai-prices`, an optional peer
   * dependency, imported the first time a money policy is used
   */
  readonly prices?: PriceTable | readonly PriceTable[]
  /** Event handlers; more can be added with `quota.on()`. */
  readonly on?: QuotaEventHandlers
  /**
   * The shard of a request, for stores that partition keys (a Redis Cluster hash tag): every
   * counter of one request lives in its shard, so counters never span shards. Typically the org.
   * A string of at most 256 characters, or `undefined`; anything else refuses the request (`InvalidContext`).
   */
  readonly shardKey?: (context: QuotaContext) => string | undefined
}

/** What a request asks for. */
export interface ReserveRequest {
  /** Tokens the call may use: a total, or prompt estimate and max output. @default 0 */
  readonly estimate?: number | TokenEstimate
  /**
   * The model, for per-model policies. @default context.model (unless the request names a `tool`)
   * @throws QuotaInputError (`InvalidResource`) when not a string
   */
  readonly model?: string
  /**
   * The tool the request calls (`web_search`, `mcp:github/create_issue`, …) instead of a model: only
   * the policies whose `tools` match it check and charge it. Not with `model`.
   * @throws QuotaInputError (`InvalidResource`) beside `model`, or when not a name of 1 to 256 characters
   */
  readonly tool?: string
  /**
   * Who serves the model (`openai`, `anthropic`, `google`, …), for money policies: some models are
   * priced only under their provider (OpenAI's embeddings). Adapters set it. A model the provider's
   * table lacks is priced by its name alone.
   */
  readonly provider?: string
  /**
   * How long this reservation holds if it is never settled, in ms (a long-lived agent budget, a
   * short tool call); `lease.extend(ms)` moves it later. @default the quota's `leaseTtlMs`
   */
  readonly leaseTtlMs?: number
}
