import type { ChargeOutcome, CounterRef, CounterSnapshot, QuotaStore, ReadRequest, StoreReserveRequest, ReserveResult, SettleRequest } from '../quota-store.js'
import { scripts } from './lua/index.js'
import { Batcher } from './batcher.js'
import { RedisKeys, type RedisKeyOptions } from './redis-keys.js'
import { runScript, type ScriptTransport } from './script-runner.js'
import { LuaAdmin } from './lua-admin.js'
import { numbers, windowArgs, windowKind } from './script-values.js'
import type { StoreAdmin } from '../store-admin.js'

export interface LuaStoreOptions extends RedisKeyOptions {
  /**
   * Longest wait for one Redis call. A call that takes longer fails with `StoreUnavailableError`
   * (the engine's `failureMode` decides what happens next); if it still runs on the server, its
   * reservation expires with its lease.
   * @default 1000
   */
  readonly timeoutMs?: number
}

/** Most operations in one script call, and most waiting for one lane (beyond: refused at once). */
const batching = { maxBatch: 128, maxWaiting: 8192 }

/** A snapshot from the reserve script, whose limit is -1 unless an override changed it. */
function snapshotOf(used: number, reserved: number, windowStart: number, resetAt: number, limit: number): CounterSnapshot {
  return limit === -1 ? { used, reserved, windowStart, resetAt } : { used, reserved, windowStart, resetAt, limit }
}

function placed(values: readonly number[]): ReserveResult {
  const placements: number[] = []
  const snapshots: CounterSnapshot[] = []
  for (let offset = 0; offset < values.length; offset += 6) {
    const [placement, used, reserved, windowStart, resetAt, limit] = values.slice(offset, offset + 6) as [number, number, number, number, number, number]
    placements.push(placement)
    snapshots.push(snapshotOf(used, reserved, windowStart, resetAt, limit))
  }
  return { ok: true, placements, snapshots }
}

function refused(values: readonly number[]): ReserveResult {
  const refusals = []
  for (let offset = 0; offset < values.length; offset += 7) {
    const [index, used, reserved, windowStart, resetAt, retryAt, limit] = values.slice(offset, offset + 7) as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ]
    refusals.push({ index, snapshot: snapshotOf(used, reserved, windowStart, resetAt, limit), retryAt })
  }
  return { ok: false, refusals }
}

/**
 * A `QuotaStore` on any Redis that runs Lua: one script call per operation, and under load one
 * call for many operations (concurrent reservations, and concurrent settlements, go together).
 * `RedisStore` and `UpstashStore` differ only in how they send a script.
 */
export class LuaStore implements QuotaStore {
  readonly #transport: ScriptTransport
  readonly #keys: RedisKeys
  readonly #timeoutMs: number
  readonly #reserves = new Batcher<StoreReserveRequest, ReserveResult>((requests) => this.#reserveBatch(requests), batching)
  readonly #settles = new Batcher<SettleRequest, readonly ChargeOutcome[]>((requests) => this.#settleBatch(requests), batching)

  /** Overrides, resets, last refusals and audit, on the same server. */
  readonly admin: StoreAdmin

  constructor(transport: ScriptTransport, options: LuaStoreOptions = {}) {
    this.#transport = transport
    this.#keys = new RedisKeys(options)
    this.#timeoutMs = options.timeoutMs ?? 1000
    this.admin = new LuaAdmin(transport, this.#keys, this.#timeoutMs)
  }

  /** Every key this store writes matches this pattern. */
  get keyPattern(): string {
    return this.#keys.pattern
  }

  #counterKeys(counters: readonly CounterRef[], shard: string | undefined): string[] {
    return counters.map((counter) => this.#keys.counter(counter, shard))
  }

  reserve(request: StoreReserveRequest): Promise<ReserveResult> {
    return this.#reserves.add(this.#keys.slot(request.shard), request)
  }

  settle(request: SettleRequest): Promise<readonly ChargeOutcome[]> {
    return this.#settles.add(this.#keys.slot(request.shard), request)
  }

  async #reserveBatch(requests: readonly StoreReserveRequest[]): Promise<ReserveResult[]> {
    // A batch is one lane: one slot, so one holds set. Each request's keys are still its own shard's.
    const keys = [this.#keys.holds(requests[0]!.shard), this.#keys.overrides(requests[0]!.shard)]
    const args = [String(requests.length), String(Math.min(...requests.map((request) => request.now)))]
    for (const request of requests) {
      const { leaseId, shard } = request
      keys.push(this.#keys.lease(leaseId, shard))
      for (const counter of request.counters) keys.push(this.#keys.counter(counter, shard), this.#keys.refusal(counter, shard))
      // The script marks a lease whose holds are returned at expiry by this suffix.
      args.push(String(request.now), String(request.expiresAt), request.onExpiry === 'release' ? `${leaseId}\n=r` : leaseId, String(request.counters.length))
      for (const counter of request.counters) {
        args.push(
          windowKind[counter.window.kind],
          counter.limit === undefined ? '' : String(counter.limit),
          String(counter.amount),
          counter.hold ? '1' : '0',
          ...windowArgs(counter.window),
          counter.counter,
          counter.identifier,
        )
      }
    }
    const reply = numbers(await runScript(this.#transport, scripts.reserve, keys, args, this.#timeoutMs), 'reserve')
    const results: ReserveResult[] = []
    let offset = 0
    for (let request = 0; request < requests.length; request += 1) {
      const [ok, length] = [reply[offset]!, reply[offset + 1]!]
      const values = reply.slice(offset + 2, offset + 2 + length)
      offset += 2 + length
      results.push(ok === 1 ? placed(values) : refused(values))
    }
    return results
  }

  async #settleBatch(requests: readonly SettleRequest[]): Promise<Array<readonly ChargeOutcome[]>> {
    const keys = [this.#keys.holds(requests[0]!.shard)]
    const args = [String(requests.length)]
    for (const request of requests) {
      keys.push(this.#keys.lease(request.leaseId, request.shard), ...this.#counterKeys(request.charges, request.shard))
      args.push(String(request.now), request.leaseId, String(request.charges.length))
      for (const charge of request.charges) {
        args.push(windowKind[charge.window.kind], String(charge.placement), String(charge.held), String(charge.amount), ...windowArgs(charge.window))
      }
    }
    const reply = numbers(await runScript(this.#transport, scripts.settle, keys, args, this.#timeoutMs), 'settle')
    const results: Array<readonly ChargeOutcome[]> = []
    let offset = 0
    for (const request of requests) {
      const count = reply[offset]!
      // Already settled (a retry of a settle whose answer was lost): nothing was charged again.
      if (count === -1) {
        results.push(request.charges.map(() => ({ usedBefore: 0, usedAfter: 0 })))
        offset += 1
        continue
      }
      results.push(request.charges.map((_, index) => ({ usedBefore: reply[offset + 1 + 2 * index]!, usedAfter: reply[offset + 2 + 2 * index]! })))
      offset += 1 + 2 * count
    }
    return results
  }

  async read(request: ReadRequest): Promise<readonly CounterSnapshot[]> {
    const args = [String(request.now), String(request.counters.length)]
    for (const counter of request.counters) {
      const limit = counter.limit === undefined ? '' : String(counter.limit)
      args.push(windowKind[counter.window.kind], ...windowArgs(counter.window), limit, counter.counter, counter.identifier)
    }
    const keys = [this.#keys.holds(request.shard), this.#keys.overrides(request.shard), ...this.#counterKeys(request.counters, request.shard)]
    const reply = numbers(await runScript(this.#transport, scripts.read, keys, args, this.#timeoutMs), 'read')
    return request.counters.map((_, index) => {
      const [used, reserved, windowStart, resetAt, limit] = reply.slice(5 * index, 5 * index + 5) as [number, number, number, number, number]
      return snapshotOf(used, reserved, windowStart, resetAt, limit)
    })
  }
}
