import type {
  ChargeOutcome,
  CounterRef,
  CounterRefusal,
  CounterSnapshot,
  ExtendRequest,
  InspectLeaseRequest,
  QuotaStore,
  ReadRequest,
  ReserveResult,
  SettleRequest,
  StoredLease,
  StoreReserveRequest,
} from '../quota-store.js'
import { QuotaInputError } from '../../shared/errors.js'
import { timerDelayOf } from '../../shared/timer-delay.js'
import { fromReply, toArgs, widthOf } from './script-fields.js'
import { scripts } from './lua/index.js'
import { Batcher } from './batcher.js'
import { RedisKeys, type RedisKeyOptions } from './redis-keys.js'
import { runScript, type ScriptTransport } from './script-runner.js'
import { LuaAdmin } from './lua-admin.js'
import { list, numbers, windowArgs, windowKind } from './script-values.js'
import type { StoreAdmin } from '../store-admin.js'
import type { LedgerEntry, StoreCredits } from '../credit-protocol.js'
import { expiredAt, LuaCredits } from './lua-credits.js'

export interface LuaStoreOptions extends RedisKeyOptions {
  /**
   * Longest wait for one Redis call, in ms from 1 to 2147483647 (what setTimeout takes). A call
   * that takes longer fails with `StoreUnavailableError` (the engine's `failureMode` decides what
   * happens next); if it still runs on the server, its reservation expires with its lease.
   * @default 1000
   */
  readonly timeoutMs?: number
}

/** Most operations in one script call, and most waiting for one lane (beyond: refused at once). */
const batching = { maxBatch: 128, maxWaiting: 8192 }

/** A snapshot from a script, whose limit is -1 unless an override changed it. */
function snapshotOf(record: { used: number; reserved: number; windowStart: number; resetAt: number; limit: number }): CounterSnapshot {
  const { used, reserved, windowStart, resetAt, limit } = record
  return limit === -1 ? { used, reserved, windowStart, resetAt } : { used, reserved, windowStart, resetAt, limit }
}

/** Per counter of a reservation that holds: its `placed` records. */
function placed(values: readonly number[]): Extract<ReserveResult, { ok: true }> {
  const placements: number[] = []
  const snapshots: CounterSnapshot[] = []
  const held: number[] = []
  for (let offset = 0; offset < values.length; offset += widthOf('placed')) {
    const record = fromReply('placed', values, offset)
    placements.push(record.placement)
    snapshots.push(snapshotOf(record))
    held.push(record.held)
  }
  return { ok: true, placements, held, snapshots }
}

/**
 * Per counter of a request, the grant expiries a script recorded on it (balance counters only; a
 * list for each, in the request's order, from `offset` of the script's list of expiries).
 */
function expiriesOf(counters: readonly CounterRef[], expired: readonly unknown[], offset: number): { rows: Map<number, LedgerEntry[]>; next: number } {
  const rows = new Map<number, LedgerEntry[]>()
  let next = offset
  counters.forEach((counter, index) => {
    if (counter.window.kind !== 'balance') return
    const found = expiredAt(expired, next)
    if (found.rows.length > 0) rows.set(index, found.rows)
    next = found.next
  })
  return { rows, next }
}

function withExpired(snapshot: CounterSnapshot, rows: readonly LedgerEntry[] | undefined): CounterSnapshot {
  return rows ? { ...snapshot, expired: rows } : snapshot
}

/** A script's reply with its list of grant expiries: `{ numbers, expiries }`. */
function withExpiries(reply: unknown, operation: string): { values: number[]; expired: unknown[] } {
  const [values, expired] = list(reply, operation, 'any')
  return { values: numbers(values, operation), expired: list(expired ?? [], operation, 'any') }
}

function refused(values: readonly number[]): ReserveResult {
  const refusals: CounterRefusal[] = []
  for (let offset = 0; offset < values.length; offset += widthOf('refused')) {
    const record = fromReply('refused', values, offset)
    refusals.push({ index: record.index, snapshot: snapshotOf(record), retryAt: record.retryAt })
  }
  return { ok: false, refusals }
}

/** The arguments of one reservation of the reserve script. */
function reserveArgs(request: StoreReserveRequest): string[] {
  const { record = '' } = request
  const args = toArgs('reserveLease', {
    now: String(request.now),
    expiresAt: String(request.expiresAt),
    leaseId: request.leaseId,
    release: request.onExpiry === 'release' ? '1' : '0',
    record,
    count: String(request.counters.length),
  })
  for (const counter of request.counters) {
    const [a, b] = windowArgs(counter.window)
    args.push(
      ...toArgs('reserveCounter', {
        kind: windowKind[counter.window.kind],
        limit: counter.limit === undefined ? '' : String(counter.limit),
        amount: String(counter.amount),
        hold: counter.hold ? '1' : '0',
        a,
        b,
        family: counter.counter,
        identifier: counter.identifier,
        group: counter.group ?? '',
      }),
    )
  }
  return args
}

/** The arguments of one settlement of the settle script. */
function settleArgs(request: SettleRequest): string[] {
  const args = toArgs('settleLease', { now: String(request.now), leaseId: request.leaseId, count: String(request.charges.length) })
  for (const charge of request.charges) {
    const [a, b] = windowArgs(charge.window)
    args.push(
      ...toArgs('settleCharge', {
        kind: windowKind[charge.window.kind],
        placement: String(charge.placement),
        held: String(charge.held),
        amount: String(charge.amount),
        a,
        b,
      }),
    )
  }
  return args
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
  /** Credit grants and ledgers of balance counters, on the same server (keys without a TTL). */
  readonly credits: StoreCredits
  /**
   * `'volatile'`: paid credits survive a restart of Redis only with AOF persistence
   * (`appendonly yes`, `appendfsync everysec` or `always`); the engine warns (`VolatileCredits`)
   * when a balance policy runs on this store.
   */
  readonly creditDurability = 'volatile'

  constructor(transport: ScriptTransport, options: LuaStoreOptions = {}) {
    this.#transport = transport
    this.#keys = new RedisKeys(options)
    this.#timeoutMs = timerDelayOf(options.timeoutMs, 'timeoutMs', 1000)
    this.admin = new LuaAdmin(transport, this.#keys, this.#timeoutMs)
    this.credits = new LuaCredits(transport, this.#keys, this.#timeoutMs)
  }

  /** Every key this store writes matches this pattern. */
  get keyPattern(): string {
    return this.#keys.pattern
  }

  #counterKeys(counters: readonly CounterRef[], shard: string | undefined): string[] {
    return counters.map((counter) => this.#keys.counter(counter, shard))
  }

  reserve(request: StoreReserveRequest): Promise<ReserveResult> {
    // The record is a line of the hold's member (see lua/common.ts).
    if (request.record?.includes('\n')) {
      return Promise.reject(
        new QuotaInputError({ code: 'InvalidLease', message: `Lease "${request.leaseId}": a store record must be one line (no line break)` }),
      )
    }
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
      args.push(...reserveArgs(request))
    }
    const { values: reply, expired } = withExpiries(await runScript(this.#transport, scripts.reserve, keys, args, this.#timeoutMs), 'reserve')
    const results: ReserveResult[] = []
    let [offset, expiredOffset] = [0, 0]
    for (const request of requests) {
      const [ok, length] = [reply[offset]!, reply[offset + 1]!]
      const values = reply.slice(offset + 2, offset + 2 + length)
      offset += 2 + length
      const { rows, next } = expiriesOf(request.counters, expired, expiredOffset)
      expiredOffset = next
      const result = ok === 1 ? placed(values) : refused(values)
      if (result.ok) results.push({ ...result, snapshots: result.snapshots.map((snapshot, index) => withExpired(snapshot, rows.get(index))) })
      else
        results.push({
          ok: false,
          refusals: result.refusals.map((refusal) => ({ ...refusal, snapshot: withExpired(refusal.snapshot, rows.get(refusal.index)) })),
        })
    }
    return results
  }

  async #settleBatch(requests: readonly SettleRequest[]): Promise<Array<readonly ChargeOutcome[]>> {
    const keys = [this.#keys.holds(requests[0]!.shard)]
    const args = [String(requests.length), String(Math.min(...requests.map((request) => request.now)))]
    for (const request of requests) {
      keys.push(this.#keys.lease(request.leaseId, request.shard), ...this.#counterKeys(request.charges, request.shard))
      args.push(...settleArgs(request))
    }
    const { values: reply, expired } = withExpiries(await runScript(this.#transport, scripts.settle, keys, args, this.#timeoutMs), 'settle')
    const results: Array<readonly ChargeOutcome[]> = []
    let [offset, expiredOffset] = [0, 0]
    for (const request of requests) {
      // Already settled (a retry of a settle whose answer was lost): nothing was charged again.
      if (reply[offset] === -1) {
        results.push(request.charges.map(() => ({ usedBefore: 0, usedAfter: 0 })))
        offset += 1
        continue
      }
      offset += 1
      const { rows, next } = expiriesOf(request.charges, expired, expiredOffset)
      expiredOffset = next
      results.push(
        request.charges.map((charge, index) => {
          const [usedBefore, usedAfter] = [reply[offset]!, reply[offset + 1]!]
          if (charge.window.kind !== 'balance') {
            offset += 2
            return { usedBefore, usedAfter }
          }
          const [balanceBefore, balanceAfter, unpaid] = [reply[offset + 2]!, reply[offset + 3]!, reply[offset + 4]!]
          offset += 5
          const expiredRows = rows.get(index)
          return { usedBefore, usedAfter, balanceBefore, balanceAfter, unpaid, ...(expiredRows && { expired: expiredRows }) }
        }),
      )
    }
    return results
  }

  async read(request: ReadRequest): Promise<readonly CounterSnapshot[]> {
    const args = [String(request.now), String(request.counters.length)]
    for (const counter of request.counters) {
      const [a, b] = windowArgs(counter.window)
      const limit = counter.limit === undefined ? '' : String(counter.limit)
      args.push(...toArgs('readCounter', { kind: windowKind[counter.window.kind], a, b, limit, family: counter.counter, identifier: counter.identifier }))
    }
    const keys = [this.#keys.holds(request.shard), this.#keys.overrides(request.shard), ...this.#counterKeys(request.counters, request.shard)]
    const { values: reply, expired } = withExpiries(await runScript(this.#transport, scripts.read, keys, args, this.#timeoutMs), 'read')
    const { rows } = expiriesOf(request.counters, expired, 0)
    return request.counters.map((_, index) => withExpired(snapshotOf(fromReply('snapshot', reply, index * widthOf('snapshot'))), rows.get(index)))
  }

  async extend(request: ExtendRequest): Promise<boolean> {
    const keys = [this.#keys.holds(request.shard), this.#keys.lease(request.leaseId, request.shard)]
    const reply = await runScript(this.#transport, scripts.extend, keys, [String(request.now), String(request.expiresAt)], this.#timeoutMs)
    return numbers([reply], 'extend')[0] === 1
  }

  async inspectLease(request: InspectLeaseRequest): Promise<StoredLease | undefined> {
    const keys = [this.#keys.holds(request.shard), this.#keys.lease(request.leaseId, request.shard)]
    const reply = list(await runScript(this.#transport, scripts.inspectLease, keys, [String(request.now)], this.#timeoutMs), 'inspect-lease', 'any')
    if (reply.length === 0) return undefined
    const [state, expiresAt, record, answer] = reply.map(String) as [string, string, string, string]
    const values = numbers(answer.split(' ').filter(Boolean), 'inspect-lease')
    return {
      state: state === '0' ? 'holding' : state === '1' ? 'charged' : 'released',
      expiresAt: Number(expiresAt),
      record: record === '#' ? undefined : record.slice(1),
      held: placed(values).held,
    }
  }
}
