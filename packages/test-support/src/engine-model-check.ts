import fc from 'fast-check'
import { expect } from 'vitest'
import { createTokenQuota, type QuotaContext, type QuotaLease, type QuotaPolicy, type TokenQuota, TokenQuotaExceededError } from '@tokenquota/core'
import type { QuotaStore } from '@tokenquota/core/store'
import { createFakeClock, type FakeClock } from '@tokenquota/core/testing'

/**
 * Random sequences of reserve / commit / release / clock moves and operators' actions (grant, set,
 * clear, reset, and retries of them, with random ends, on identifier, class and identifier-less
 * policies), model calls and tool calls mixed (a tool call answers only to the tool policy, a model
 * call never to it), run against the engine (on a given store) and against a small reference model that
 * keeps every event and recomputes windows and limits from scratch. Shared by the store tests: the
 * same windows and the same limits in force on every store.
 */

const minute = 60_000
const hour = 60 * minute
const day = 24 * hour
const leaseTtlMs = 10 * minute
const users = ['alice', 'bob'] as const
type User = (typeof users)[number]
/** Each user's plan (the class of `plan-daily`), and org: alice's org shards her keys where a `shardKey` reads it, bob has none. */
const plans = { alice: 'pro', bob: 'free' } as const
const orgs: Partial<Record<User, string>> = { alice: 'acme' }
const contextOf = (user: User) => ({ user, plan: plans[user], ...(orgs[user] === undefined ? {} : { org: orgs[user] }) })

const policies: QuotaPolicy[] = [
  { name: 'user-daily', identifier: 'user', allow: 1000, interval: 1, timeUnit: 'day' },
  // No identifier: one counter shared by everyone (per shard, where keys are sharded).
  { name: 'org-rolling-hour', type: 'rollingwindow', allow: 1500, interval: 1, timeUnit: 'hour' },
  { name: 'user-flexi', type: 'flexi', identifier: 'user', allow: 700, interval: 30, timeUnit: 'minute' },
  {
    name: 'plan-daily',
    identifier: 'user',
    allow: { class: (context) => context.plan as string, counts: { free: 600, pro: 900 } },
    interval: 1,
    timeUnit: 'day',
  },
  // Tool calls only, one per call: model calls never reach it, and tool calls reach nothing else.
  { name: 'user-searches', identifier: 'user', tools: ['web_search'], allow: 3, interval: 1, timeUnit: 'day' },
]
const policyNames = policies.map((policy) => policy.name)
const [daily, rolling, flexi, plan, searches] = [0, 1, 2, 3, 4] as const
const policyLimit = (policy: number, user: User) => (policy === plan ? (plans[user] === 'pro' ? 900 : 600) : [1000, 1500, 700, 0, 3][policy]!)

/** An operator's action on a policy: for one user (on `org-rolling-hour`, the shared counter of the user's shard), or with `byClass` on `plan-daily`, the user's whole class (in the user's shard). */
interface AdminOperation {
  kind: 'grant' | 'set' | 'clear' | 'reset'
  policy: number
  user: User
  byClass: boolean
  amount: number
  /** How long from now until it ends (fractions included: the engine rounds up to a whole millisecond). */
  until: number | undefined
}

type Operation =
  /** `tool`: a `web_search` call (its estimate is ignored: the tool policy holds one call). */
  | { kind: 'reserve'; user: User; estimate: number; tool: boolean }
  | { kind: 'commit'; lease: number; fraction: number }
  | { kind: 'release'; lease: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'status' }
  | AdminOperation
  /** Sends an earlier admin action again with its idempotency key (a retry): it changes nothing. */
  | { kind: 'replay'; step: number }

const until = fc.option(
  fc.oneof(fc.constantFrom(1, 0.5, minute, hour, 2 * hour, day), fc.integer({ min: 1, max: 2 * day }), fc.double({ min: 0.001, max: hour, noNaN: true })),
  { nil: undefined },
)
const admin = (kind: AdminOperation['kind'], weight: number): fc.WeightedArbitrary<Operation> => ({
  weight,
  arbitrary: fc.record({
    kind: fc.constant(kind),
    policy: fc.constantFrom(daily, rolling, flexi, plan, searches),
    user: fc.constantFrom(...users),
    byClass: fc.boolean(),
    amount: fc.oneof(fc.integer({ min: 0, max: 600 }), fc.integer({ min: 0, max: 2000 })),
    until,
  }),
})

const operation: fc.Arbitrary<Operation> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('reserve' as const),
      user: fc.constantFrom(...users),
      estimate: fc.integer({ min: 0, max: 450 }),
      tool: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 2, arbitrary: fc.constant(true) }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('commit' as const), lease: fc.nat(40), fraction: fc.double({ min: 0, max: 1, noNaN: true }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('release' as const), lease: fc.nat(40) }) },
  // Reads are steps of their own: a read moves windows, so reading after every step would hide
  // what a reservation or a refusal does to a window that moves under it. Admin actions are
  // followed by a read of their own (status and inspect), since they are what it checks.
  { weight: 1, arbitrary: fc.constant({ kind: 'status' as const }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      // Exact window, bucket and TTL lengths hit the boundaries, where off-by-one errors live.
      ms: fc.oneof(
        fc.constantFrom(1, minute - 1, minute, leaseTtlMs - 1, leaseTtlMs, 30 * minute - 1, 30 * minute, hour, hour + minute - 1, hour + minute, day),
        fc.integer({ min: 0, max: 20 * minute }),
        fc.integer({ min: 0, max: 2 * day }),
      ),
    }),
  },
  admin('grant', 2),
  admin('set', 1),
  admin('clear', 1),
  admin('reset', 1),
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('replay' as const), step: fc.nat(20) }) },
)

interface ModelLease {
  readonly user: User
  /** A tool call (charged to `user-searches` only) or a model call (to every other policy). */
  readonly tool: boolean
  readonly amount: number
  readonly at: number
  readonly flexiStart: number
  state: 'pending' | 'committed' | 'released'
}

interface ModelCharge {
  readonly user: User
  readonly tool: boolean
  readonly amount: number
  /** Where it counts: the reservation's time. */
  readonly at: number
  readonly flexiStart: number
  /** When it was charged, as a step number for a commit, as an instant for an expiry (a reset clears what was charged before it). */
  readonly charged: { readonly step: number } | { readonly at: number }
}

interface OverrideValue {
  readonly amount: number
  readonly until?: number
}

interface ModelOverrides {
  allow?: OverrideValue
  grants: OverrideValue[]
}

interface ModelInspection {
  used: number
  reserved: number
  allowed: number
  policyAllowed: number
  overrides: Array<{ kind: 'allow' | 'grant'; scope: 'identifier' | 'class'; amount: number; until?: number }>
}

const live = (value: OverrideValue | undefined, now: number) => (value !== undefined && (value.until === undefined || value.until > now) ? value : undefined)

class ReferenceModel {
  readonly leases: ModelLease[] = []
  readonly charges: ModelCharge[] = []
  readonly flexiStart = new Map<User, number>()
  readonly resets: Array<{ readonly policy: number; readonly counter: string; readonly at: number; readonly step: number }> = []
  /** Steps so far: orders commits and resets made at the same instant. */
  steps = 0
  /** `policy|counter` (counter: `=user`, `shard:…` for the shared counter, `#class`) → its overrides. */
  readonly overrides = new Map<string, ModelOverrides>()

  constructor(readonly shardOf: (user: User) => string | undefined) {}

  /** The class of a user, as a target: with a shardKey, each shard keeps its own class overrides. */
  classOf(user: User): string {
    return `#${plans[user]}@${this.shardOf(user)}`
  }

  /** The counter of a user in a policy: their own, or the shared counter of their shard. */
  counterOf(policy: number, user: User): string {
    return policy === rolling ? `shard:${this.shardOf(user)}` : `=${user}`
  }

  #cleared(policy: number, charge: ModelCharge): boolean {
    const counter = this.counterOf(policy, charge.user)
    const before = (reset: { at: number; step: number }) => ('step' in charge.charged ? charge.charged.step < reset.step : charge.charged.at <= reset.at)
    return this.resets.some((reset) => reset.policy === policy && reset.counter === counter && before(reset))
  }

  held(now: number, include: (lease: ModelLease) => boolean): number {
    return this.leases
      .filter((lease) => lease.state === 'pending' && lease.at + leaseTtlMs > now && include(lease))
      .reduce((sum, lease) => sum + lease.amount, 0)
  }

  /** Charges, plus the holds of leases that expired unsettled (charged by default, `onLeaseExpiry: 'charge'`), less what resets cleared. */
  used(now: number, policy: number, include: (charge: ModelCharge) => boolean): number {
    const expired = this.leases
      .filter((lease) => lease.state === 'pending' && lease.at + leaseTtlMs <= now)
      .map((lease) => ({ ...lease, charged: { at: lease.at + leaseTtlMs } }))
    return [...this.charges, ...expired].filter((charge) => include(charge) && !this.#cleared(policy, charge)).reduce((sum, charge) => sum + charge.amount, 0)
  }

  counters(now: number, user: User) {
    const dayStart = Math.floor(now / day) * day
    const inDay = (entry: { user: string; at: number }) => entry.user === user && entry.at >= dayStart && entry.at < dayStart + day
    const modelCall = (include: (entry: ModelCharge | ModelLease) => boolean) => (entry: ModelCharge | ModelLease) => !entry.tool && include(entry)
    const toolCall = (entry: ModelCharge | ModelLease) => entry.tool && inDay(entry)
    // Rolling buckets are 1 minute: a bucket counts while its end is inside the last hour.
    const shard = this.shardOf(user)
    const inHour = (entry: { user: User; at: number }) => this.shardOf(entry.user) === shard && Math.floor(entry.at / minute) * minute + minute > now - hour
    const start = this.flexiStart.get(user)
    const open = start !== undefined && start + 30 * minute > now
    const inFlexi = (entry: { user: string; flexiStart: number }) => open && entry.user === user && entry.flexiStart === start
    return [modelCall(inDay), modelCall(inHour), modelCall(inFlexi), modelCall(inDay), toolCall].map((include, policy) => ({
      used: this.used(now, policy, include),
      reserved: this.held(now, include),
    }))
  }

  #own(policy: number, user: User): ModelOverrides | undefined {
    return this.overrides.get(`${policy}|${this.counterOf(policy, user)}`)
  }

  #family(policy: number, user: User): ModelOverrides | undefined {
    return policy === plan ? this.overrides.get(`${policy}|${this.classOf(user)}`) : undefined
  }

  /** The limit in force: the user's own allow, else the class's, else the policy's; plus every grant in force. */
  limit(now: number, policy: number, user: User): number {
    const [own, family] = [this.#own(policy, user), this.#family(policy, user)]
    const base = live(own?.allow, now)?.amount ?? live(family?.allow, now)?.amount ?? policyLimit(policy, user)
    const granted = [...(own?.grants ?? []), ...(family?.grants ?? [])].filter((grant) => live(grant, now)).reduce((sum, grant) => sum + grant.amount, 0)
    return base + granted
  }

  inspect(now: number, user: User): ModelInspection[] {
    return this.counters(now, user).map((counter, policy) => {
      const [own, family] = [this.#own(policy, user), this.#family(policy, user)]
      const scope = policy === rolling ? ('class' as const) : ('identifier' as const)
      const entry = (kind: 'allow' | 'grant', scope: 'identifier' | 'class', value: OverrideValue) => ({ kind, scope, ...value })
      const overrides = [
        ...[live(own?.allow, now)].flatMap((value) => (value ? [entry('allow', scope, value)] : [])),
        ...[live(family?.allow, now)].flatMap((value) => (value ? [entry('allow', 'class', value)] : [])),
        ...(own?.grants ?? []).filter((grant) => live(grant, now)).map((grant) => entry('grant', scope, grant)),
        ...(family?.grants ?? []).filter((grant) => live(grant, now)).map((grant) => entry('grant', 'class', grant)),
      ]
      return { ...counter, allowed: this.limit(now, policy, user), policyAllowed: policyLimit(policy, user), overrides }
    })
  }

  reserve(now: number, user: User, estimate: number, tool: boolean): boolean {
    const amount = tool ? 1 : estimate
    const applies = (policy: number) => (policy === searches) === tool
    const fits = this.counters(now, user).every(
      (counter, policy) => !applies(policy) || counter.used + counter.reserved + amount <= this.limit(now, policy, user),
    )
    if (!fits) return false
    if (tool) {
      this.leases.push({ user, tool, amount, at: now, flexiStart: Number.NaN, state: 'pending' })
      return true
    }
    const start = this.flexiStart.get(user)
    const flexiStart = start !== undefined && start + 30 * minute > now ? start : now
    this.flexiStart.set(user, flexiStart)
    this.leases.push({ user, tool, amount, at: now, flexiStart, state: 'pending' })
    return true
  }

  settle(index: number, amount: number | undefined): void {
    const lease = this.leases[index]!
    lease.state = amount === undefined ? 'released' : 'committed'
    // A tool call is one call, whatever the usage its commit reports.
    const charged = amount === undefined || !lease.tool ? amount : 1
    if (charged !== undefined)
      this.charges.push({ user: lease.user, tool: lease.tool, amount: charged, at: lease.at, flexiStart: lease.flexiStart, charged: { step: ++this.steps } })
  }

  /** Applies an admin action (the engine validated it: `until` rounded up to a whole millisecond). */
  admin(now: number, step: AdminOperation): void {
    if (step.kind === 'reset') {
      this.resets.push({ policy: step.policy, counter: this.counterOf(step.policy, step.user), at: now, step: ++this.steps })
      return
    }
    const key = `${step.policy}|${step.policy === plan && step.byClass ? this.classOf(step.user) : this.counterOf(step.policy, step.user)}`
    const current = this.overrides.get(key) ?? { grants: [] }
    const end = step.until === undefined ? undefined : Math.ceil(now + step.until)
    const value = end === undefined ? { amount: step.amount } : { amount: step.amount, until: end }
    const grants = current.grants.filter((grant) => live(grant, now))
    const allow = live(current.allow, now)
    if (step.kind === 'clear') this.overrides.delete(key)
    else if (step.kind === 'set') this.overrides.set(key, { allow: value, grants })
    else this.overrides.set(key, { allow, grants: [...grants, value] })
  }
}

/**
 * The engine's call for an admin action: the policy, a user's context (its shard too), and for a class action the class (in the user's shard).
 * `at` is when the action was first made: a replay sends the same end, as a retried request does.
 */
function adminCall(quota: TokenQuota, step: AdminOperation, at: number, idempotencyKey: string): Promise<unknown> {
  const policy = policyNames[step.policy]!
  const context = contextOf(step.user)
  const target = step.policy === plan && step.byClass ? { policy, class: plans[step.user], context } : { policy, context }
  const actor = { by: 'model', idempotencyKey }
  const until = step.until === undefined ? {} : { until: at + step.until }
  switch (step.kind) {
    case 'grant':
      return quota.admin.grant({ ...target, ...actor, ...until, add: step.amount })
    case 'set':
      return quota.admin.set({ ...target, ...actor, ...until, allow: step.amount })
    case 'clear':
      return quota.admin.clear({ ...target, ...actor })
    case 'reset':
      // A reset takes one counter: a user's (or their shard's shared one), never a class.
      return quota.admin.reset({ policy, context, ...actor })
  }
}

export interface ReferenceModelCheck {
  /** The store under test, on the run's clock: a fresh one for each run (one that needs set-up, such as tables, may resolve to it). */
  createStore(now: () => number): QuotaStore | Promise<QuotaStore>
  /**
   * For a store that writes through to another (SyncedStore): that store. After each run the
   * engine is flushed, and the shared store must hold exactly the model's charges.
   */
  sharedStoreOf?(store: QuotaStore): QuotaStore
  /** The engine's `shardKey`: alice's context has an org, bob's none, so sharded and unsharded callers mix. */
  shardKey?: (context: QuotaContext) => string | undefined
  numRuns: number
}

/** Idempotency keys are remembered a day: a replay later than that is another action. */
const replayWithinMs = day

type Field = 'used' | 'reserved' | 'allowed'
const allFields: readonly Field[] = ['used', 'reserved', 'allowed']

/** One run: the engine, the model, and what the steps so far left. */
class Run {
  readonly leases: QuotaLease[] = []
  /** The admin actions made, with their idempotency keys, for replays. */
  readonly done: Array<{ readonly step: AdminOperation; readonly key: string; readonly at: number }> = []
  /** An override was set: a limit may have dropped under what was already used. */
  overridden = false

  constructor(
    readonly quota: TokenQuota,
    readonly model: ReferenceModel,
    readonly clock: FakeClock,
  ) {}

  /** `status()` (and `inspect()`) of every user, as the model has them. */
  async expectModel(engine: TokenQuota, fields: readonly Field[], inspect: boolean): Promise<void> {
    for (const user of users) {
      const expected = this.model.inspect(this.clock.now(), user)
      const status = await engine.status(contextOf(user))
      const pick = (counter: Record<Field, number>) => Object.fromEntries(fields.map((field) => [field, counter[field]]))
      expect(status.map(pick), `status of ${user}`).toEqual(expected.map(pick))
      if (!this.overridden) for (const entry of status) expect(entry.used).toBeLessThanOrEqual(entry.allowed)
      if (!inspect) continue
      const rows = await engine.admin.inspect(contextOf(user))
      const seen = rows.map(({ used, reserved, allowed, policyAllowed, overrides }) => ({ used, reserved, allowed, policyAllowed, overrides }))
      expect(seen, `inspect of ${user}`).toEqual(expected)
    }
  }

  async step(step: Operation): Promise<void> {
    const now = this.clock.now()
    switch (step.kind) {
      case 'advance':
        this.clock.advance(step.ms)
        return
      case 'status':
        return this.expectModel(this.quota, allFields, true)
      case 'reserve':
        return this.#reserve(step.user, step.estimate, step.tool)
      case 'commit':
      case 'release':
        return this.#settle(step, now)
      case 'replay': {
        const earlier = this.done.length > 0 ? this.done[step.step % this.done.length]! : undefined
        if (!earlier || earlier.at + replayWithinMs <= now) return
        // A replay whose end has passed is refused as past (InvalidAdminRequest) before the store is asked.
        if (earlier.step.until !== undefined && earlier.at + earlier.step.until <= now) return
        await adminCall(this.quota, earlier.step, earlier.at, earlier.key)
        return this.expectModel(this.quota, allFields, true)
      }
      default: {
        const key = `model-${this.done.length}`
        await adminCall(this.quota, step, now, key)
        this.model.admin(now, step)
        this.done.push({ step, key, at: now })
        this.overridden ||= step.kind !== 'reset'
        return this.expectModel(this.quota, allFields, true)
      }
    }
  }

  async #reserve(user: User, estimate: number, tool: boolean): Promise<void> {
    const expected = this.model.reserve(this.clock.now(), user, estimate, tool)
    const outcome = await this.quota.reserve(contextOf(user), tool ? { tool: 'web_search', estimate } : { estimate }).then(
      (lease) => lease,
      (error: unknown) => {
        if (!TokenQuotaExceededError.isInstance(error)) throw error
        return undefined
      },
    )
    expect(outcome !== undefined).toBe(expected)
    if (outcome) this.leases.push(outcome)
  }

  async #settle(step: { kind: 'commit'; lease: number; fraction: number } | { kind: 'release'; lease: number }, now: number): Promise<void> {
    if (this.leases.length === 0) return
    const index = step.lease % this.leases.length
    const lease = this.leases[index]!
    if (lease.state !== 'pending') return
    const held = this.model.leases[index]!
    // Stores remember an expired lease for an hour after its expiry, for its late commit to
    // replace the expiry charge; later than that the outcome is not specified. A late commit
    // after a reset of the charge it replaces is not specified either.
    if (held.at + leaseTtlMs + hour <= now) return
    if (held.at + leaseTtlMs <= now && this.model.resets.some((reset) => reset.at >= held.at)) return
    if (step.kind === 'release') {
      await lease.release()
      this.model.settle(index, undefined)
    } else {
      const total = Math.floor(held.amount * step.fraction)
      await lease.commit({ total })
      this.model.settle(index, total)
    }
  }
}

/**
 * Asserts that the engine on the given stores admits, refuses and reports exactly like the model,
 * operators' actions included: `status()` and `admin.inspect()` show the limit in force, each
 * override and grant, and the usage the model expects after every admin action and every read.
 */
export async function checkAgainstReferenceModel({ createStore, sharedStoreOf, shardKey, numRuns }: ReferenceModelCheck): Promise<void> {
  await fc.assert(
    fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 60 }), fc.integer({ min: 0, max: 365 * 24 * 60 }), async (operations, offsetMinutes) => {
      const clock = createFakeClock(Date.UTC(2026, 0, 1) + offsetMinutes * minute)
      const store = await createStore(clock.now)
      const options = { policies, now: clock.now, leaseTtlMs, ...(shardKey ? { shardKey } : {}) }
      // Awaited commits: each step sees the one before, as the model does.
      const run = new Run(createTokenQuota({ ...options, store, commitMode: 'await' }), new ReferenceModel((user) => shardKey?.(contextOf(user))), clock)
      for (const step of operations) await run.step(step)
      await run.expectModel(run.quota, allFields, true)
      if (sharedStoreOf) {
        await run.quota.flush()
        // The shared store holds no reservation of this process: only its charges, and the operators' overrides.
        await run.expectModel(createTokenQuota({ ...options, store: sharedStoreOf(store) }), ['used', 'allowed'], false)
      }
      await (store as { close?: () => Promise<void> }).close?.()
    }),
    { numRuns, examples: [refusedAsTheWindowMoves, grantsKeepTheirEnds, toolCallsApart] },
  )
}

/**
 * A sequence random runs rarely reach, checked on every store first: a refusal (by the daily
 * policy) at the moment the first charge leaves the rolling hour, with no read in between.
 */
const refusedAsTheWindowMoves: [Operation[], number] = [
  [
    { kind: 'reserve', user: 'alice', estimate: 450, tool: false },
    { kind: 'commit', lease: 0, fraction: 1 },
    { kind: 'advance', ms: 30 * minute },
    { kind: 'reserve', user: 'alice', estimate: 450, tool: false },
    { kind: 'commit', lease: 1, fraction: 1 },
    { kind: 'advance', ms: 31 * minute },
    { kind: 'reserve', user: 'alice', estimate: 200, tool: false },
    { kind: 'status' },
  ],
  0,
]

/**
 * Grants on the shared counter (issue 27): each keeps its own amount and end, counted once (not
 * as the shared counter's and again as its family's); the first ends by itself.
 */
const grantsKeepTheirEnds: [Operation[], number] = [
  [
    { kind: 'grant', policy: rolling, user: 'bob', byClass: false, amount: 500, until: 2 * hour },
    { kind: 'grant', policy: rolling, user: 'bob', byClass: false, amount: 7, until: 30 * day },
    { kind: 'grant', policy: plan, user: 'alice', byClass: true, amount: 100, until: 0.5 },
    { kind: 'replay', step: 0 },
    { kind: 'reserve', user: 'bob', estimate: 450, tool: false },
    { kind: 'advance', ms: 2 * hour },
    { kind: 'status' },
  ],
  0,
]

/**
 * Tool calls and model calls apart (issue 28): a tool call holds one call on the tool policy only,
 * a model call never touches it; a tool lease that expires unsettled is charged its one call, and
 * a grant on the tool policy lets one more call through.
 */
const toolCallsApart: [Operation[], number] = [
  [
    { kind: 'reserve', user: 'alice', estimate: 450, tool: true },
    { kind: 'reserve', user: 'alice', estimate: 450, tool: false },
    { kind: 'commit', lease: 0, fraction: 0 },
    { kind: 'reserve', user: 'alice', estimate: 0, tool: true },
    { kind: 'reserve', user: 'alice', estimate: 0, tool: true },
    { kind: 'status' },
    { kind: 'reserve', user: 'alice', estimate: 0, tool: true },
    { kind: 'advance', ms: leaseTtlMs },
    { kind: 'grant', policy: searches, user: 'alice', byClass: false, amount: 1, until: undefined },
    { kind: 'reserve', user: 'alice', estimate: 0, tool: true },
    { kind: 'reserve', user: 'alice', estimate: 0, tool: true },
    { kind: 'status' },
  ],
  0,
]
