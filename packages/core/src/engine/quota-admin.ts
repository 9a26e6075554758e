import type { PolicyDecision } from '../plan/decision.js'
import { type AnchorWrite, setAnchor, storedAnchors } from './stored-anchors.js'
import { decisionOf } from '../plan/request-plan.js'
import { classCounter, type PolicyTarget, resolveTarget, statusTarget, targetWindow } from '../policy/identifier.js'
import { isClassAllow, type NormalizedPolicy } from '../policy/normalized-policy.js'
import { QuotaInputError } from '../shared/errors.js'
import { describeShortfall } from '../shared/shortfall.js'
import type { QuotaEvents } from './events.js'
import type { QuotaContext } from '../shared/types.js'
import type { CounterRef, CounterSnapshot, QuotaStore } from '../store/quota-store.js'
import {
  type AuditEntry,
  type CounterAdminState,
  type OverrideChange,
  type OverrideKind,
  type OverrideValue,
  overrideEnd,
  refusalsInWindow,
  type StoreAdmin,
} from '../store/store-admin.js'
import type { EngineSettings } from './settings.js'
import { type CreditAdmin, createCreditAdmin } from './credit-admin.js'
import { CreditWatch } from './credit-watch.js'

/** Whose counter an operator changes. */
export interface AdminTarget {
  /** The policy (by `name`). */
  readonly policy: string
  /**
   * One caller, as for `reserve` (e.g. `{ user: 'alice' }`; a class-based policy also reads its
   * class from it). Omit it, with `class`, to change every identifier of a class; omit both for a
   * policy without identifier (one counter for everyone).
   */
  readonly context?: QuotaContext
  /** Every identifier of this class (a policy with a class-based `allow`). */
  readonly class?: string
}

/** Who acts and why: recorded in the audit log and the `admin` event. */
export interface AdminActor {
  /** @default 'unknown' */
  readonly by?: string
  readonly reason?: string
  /**
   * Names this change: a change sent again with the same key within 24 hours (a retry after a
   * timeout, a replayed command) is not applied, recorded nor emitted again, and resolves with
   * `replayed: true`. The key is kept with the change it named (action, policy, target, amount,
   * end; not `by` nor `reason`): the same key with a different change within 24 hours is refused
   * with `QuotaInputError` code `IdempotencyKeyReused` and changes nothing. Use one key per intended
   * change. @default a new key per call (a call is still applied once, however often its store
   * client re-sends it)
   */
  readonly idempotencyKey?: string
}

export interface AllowOverride extends AdminTarget, AdminActor {
  /** The limit in force instead of the policy's, in the policy's unit (tokens, or dollars). */
  readonly allow: number
  /** When the override ends by itself (rounded up to a whole millisecond). @default never (until `clear`) */
  readonly until?: Date | number
}

export interface Grant extends AdminTarget, AdminActor {
  /** Added to the limit, in the policy's unit. Each grant keeps its own amount and end; grants in force add up. */
  readonly add: number
  /** When this grant ends by itself (rounded up to a whole millisecond). @default never (until `clear`) */
  readonly until?: Date | number
}

/** What an admin change did. */
export interface AdminResult {
  /**
   * `true` when its idempotency key had been applied already with this same change (a retry, a
   * replayed command): nothing changed, nothing was recorded nor emitted this time. The same key
   * with a different change is refused (`QuotaInputError` code `IdempotencyKeyReused`).
   */
  readonly replayed: boolean
}

/** An override in force on a counter, in the policy's unit: the `allow`, or one grant. */
export interface OverrideInForce {
  readonly kind: OverrideKind
  /** `identifier`: this caller's own; `class`: every identifier of its class, or the whole policy (a policy without identifier). */
  readonly scope: 'identifier' | 'class'
  readonly amount: number
  readonly until?: number
}

/** A counter's last refusal, in the policy's unit, with a sentence that explains it. */
export interface RefusalRecord {
  readonly at: number
  readonly requested: number
  readonly limit: number
  readonly used: number
  readonly reserved: number
  readonly reason: string
}

/** One policy's counter for a caller, as an operator sees it. `allowed` is the limit in force. */
export interface PolicyInspection extends PolicyDecision {
  /** The policy's own limit, before overrides. */
  readonly policyAllowed: number
  /** The allows in force (the identifier's wins over its class's), then each grant in force, in the order made. */
  readonly overrides: readonly OverrideInForce[]
  readonly lastRefusal?: RefusalRecord
}

/**
 * The operator's side of a quota (`quota.admin`): look at a caller's counters, reset a window,
 * raise or replace a limit for a while. Overrides live in the store, so every process applies
 * them from its next reservation on (SyncedStore: from its next sync); each action emits an
 * `admin` event and is appended to the store's audit log.
 */
export interface QuotaAdmin extends CreditAdmin {
  /** Every policy that counts this caller (policies whose identifier the context lacks are left out). */
  inspect(context?: QuotaContext): Promise<readonly PolicyInspection[]>
  /** Replaces the policy's `allow` for one identifier or class, optionally until a time. */
  set(request: AllowOverride): Promise<AdminResult>
  /** Adds a grant to the limit of one identifier or class, optionally until a time. */
  grant(request: Grant): Promise<AdminResult>
  /** Removes the `allow` override and every grant of one identifier or class. */
  clear(request: AdminTarget & AdminActor): Promise<AdminResult>
  /** Zeroes the committed usage of the current window (reservations in flight keep holding). */
  reset(request: AdminTarget & AdminActor): Promise<AdminResult>
  /** The latest operator actions, newest first. @default limit 100 */
  audit(limit?: number): Promise<readonly AuditEntry[]>
  /**
   * Stores where one caller's billing cycles start (an anchored policy), for the requests whose
   * context has no anchor; a context anchor wins. Replaces the caller's stored anchor.
   */
  setAnchor(request: AnchorWrite): Promise<AdminResult>
}

interface Resolved {
  readonly policy: NormalizedPolicy
  readonly ref: CounterRef
  readonly shard: string | undefined
  /** How the audit names the target. */
  readonly identifier: string | null
  readonly class: string | undefined
}

function invalid(message: string, policy?: string): QuotaInputError {
  return new QuotaInputError({ code: 'InvalidAdminRequest', message, policy })
}

/** What `quota.admin` works with: the engine's settings, its store and its events. */
interface AdminDeps {
  readonly settings: EngineSettings
  readonly store: QuotaStore
  readonly events: QuotaEvents
}

function storeAdminOf(store: QuotaStore): StoreAdmin {
  if (!store.admin) throw invalid('this store has no admin side (overrides, resets, audit); use MemoryStore, RedisStore, UpstashStore or SyncedStore')
  return store.admin
}

function policyNamed(settings: EngineSettings, name: string): NormalizedPolicy {
  const policy = settings.policies.find((candidate) => candidate.name === name)
  if (!policy) throw invalid(`no policy is named "${name}" (policies: ${settings.policies.map((candidate) => candidate.name).join(', ')})`)
  return policy
}

/** The counter an admin action changes: one identifier's, or a class's (identifier `''`). */
async function resolve({ settings, store }: AdminDeps, target: AdminTarget, at: number): Promise<Resolved> {
  const policy = policyNamed(settings, target.policy)
  const shard = settings.shardOf(target.context ?? {})
  if (target.class !== undefined) {
    if (!isClassAllow(policy.allow) || !policy.allow.counts.has(target.class)) throw invalid(`has no class "${target.class}"`, policy.name)
    // One counter for every class: an override of one class's counter family would apply to none.
    if (policy.allow.shareCounter) throw invalid(`its classes share one counter (\`shareCounter\`): override an identifier, not a class`, policy.name)
    // Each shard keeps its own overrides (a Cluster script sees one slot): the operator names which.
    if (settings.sharded && target.context === undefined)
      throw invalid(
        `with a shardKey, a class's override applies in one shard: pass the \`context\` that names it (\`{}\` for callers without a shard)`,
        policy.name,
      )
    const counter = classCounter(policy.counterName, target.class)
    return { policy, ref: { counter, identifier: '', window: policy.window(at) }, shard, identifier: null, class: target.class }
  }
  const context = target.context ?? {}
  const anchors = await storedAnchors(store, [policy], context, at, shard)
  const resolved = await resolveTarget(policy, context, at, anchors?.get(policy.name))
  return {
    policy,
    ref: { counter: resolved.counter, identifier: resolved.identifierKey, window: targetWindow(resolved, at) },
    shard,
    identifier: resolved.identifier,
    class: resolved.class,
  }
}

/** The audit entry of an action. */
function entryOf(resolved: Resolved, actor: AdminActor, action: AuditEntry['action'], details: Pick<AuditEntry, 'amount' | 'until'>, at: number): AuditEntry {
  return {
    at,
    by: actor.by ?? 'unknown',
    action,
    policy: resolved.policy.name,
    identifier: resolved.identifier,
    ...(resolved.class === undefined ? {} : { class: resolved.class }),
    ...(details.amount === undefined ? {} : { amount: details.amount }),
    ...(details.until === undefined ? {} : { until: details.until }),
    ...(actor.reason === undefined ? {} : { reason: actor.reason }),
  }
}

function keyOf(actor: AdminActor): string {
  if (actor.idempotencyKey === undefined) return globalThis.crypto.randomUUID()
  if (typeof actor.idempotencyKey !== 'string' || actor.idempotencyKey === '')
    throw invalid(`expected \`idempotencyKey\` to be a non-empty string, got ${String(actor.idempotencyKey)}`)
  return actor.idempotencyKey
}

/** One override change with its audit entry, in one store step; emits the entry when it was applied (not for a replay). */
async function change(
  deps: AdminDeps,
  request: AdminTarget & AdminActor,
  action: AuditEntry['action'],
  amount?: number,
  until?: Date | number,
): Promise<AdminResult> {
  const at = deps.settings.now()
  const resolved = await resolve(deps, request, at)
  const key = keyOf(request)
  const end = invalidFor(resolved.policy.name, () => overrideEnd(until, at))
  const scaled = amount === undefined ? undefined : inCounterUnits(amount, resolved.policy, action)
  const kind: OverrideChange =
    action === 'clear' ? { kind: 'clear' } : { kind: action === 'grant' ? 'grant' : 'allow', amount: scaled!, ...(end === undefined ? {} : { until: end }) }
  const audit = entryOf(resolved, request, action, { amount, until: end }, at)
  const { ref, shard } = resolved
  const write = { counter: ref.counter, identifier: ref.identifier, shard, now: at, key, audit, change: kind }
  const outcome = await invalidFor(resolved.policy.name, () => storeAdminOf(deps.store).writeOverride(write))
  if (outcome.applied) deps.events.emit('admin', audit)
  return { replayed: !outcome.applied }
}

/** Runs a check (or a store step) whose `QuotaInputError` then names the policy. */
function invalidFor<T>(policy: string, check: () => T): T {
  const named = (error: unknown): never => {
    if (QuotaInputError.isInstance(error) && (error.code === 'InvalidAdminRequest' || error.code === 'IdempotencyKeyReused'))
      throw new QuotaInputError({ code: error.code, message: error.message, policy })
    throw error
  }
  try {
    const result = check()
    return (result instanceof Promise ? result.catch(named) : result) as T
  } catch (error) {
    return named(error)
  }
}

async function inspect(deps: AdminDeps, context: QuotaContext): Promise<PolicyInspection[]> {
  const at = deps.settings.now()
  const shard = deps.settings.shardOf(context)
  const anchors = await storedAnchors(deps.store, deps.settings.policies, context, at, shard)
  const targets = await inspectable(deps.settings.policies, context, at, anchors)
  const refs = targets.map((target) => ({ counter: target.counter, identifier: target.identifierKey, window: targetWindow(target, at), limit: target.limit }))
  const [snapshots, states] = await Promise.all([
    deps.store.read({ now: at, counters: refs, shard }),
    storeAdminOf(deps.store).readAdmin({ now: at, counters: refs, shard }),
  ])
  return targets.map((target, index) => inspectionOf(target, snapshots[index]!, states[index]!))
}

/** The admin of a quota on `store`; the store must have a `StoreAdmin` (every store of this package has). */
export function createQuotaAdmin(settings: EngineSettings, store: QuotaStore, events: QuotaEvents): QuotaAdmin {
  const deps: AdminDeps = { settings, store, events }
  return {
    inspect: (context = {}) => inspect(deps, context),
    async set(request) {
      checkAmount(request.allow, 'allow', request.policy)
      return change(deps, request, 'allow', request.allow, request.until)
    },
    async grant(request) {
      checkAmount(request.add, 'add', request.policy)
      return change(deps, request, 'grant', request.add, request.until)
    },
    clear: (request) => change(deps, request, 'clear'),
    async reset(request) {
      const at = settings.now()
      const resolved = await resolve(deps, request, at)
      if (resolved.ref.identifier === '' && resolved.policy.identifier !== undefined)
        throw invalid('reset takes one identifier (a context), not a class', resolved.policy.name)
      const key = keyOf(request)
      const audit = entryOf(resolved, request, 'reset', {}, at)
      const write = { now: at, counters: [resolved.ref], shard: resolved.shard, key, audit }
      const outcome = await invalidFor(resolved.policy.name, () => storeAdminOf(store).resetUsage(write))
      if (outcome.applied) events.emit('admin', audit)
      return { replayed: !outcome.applied }
    },
    audit: async (limit = 100) => storeAdminOf(store).readAudit(limit),
    ...createCreditAdmin({ settings, store, events, watch: new CreditWatch(events) }),
    setAnchor: (request) => setAnchor(deps, request),
  }
}

function checkAmount(amount: unknown, field: string, policy: string): void {
  if (typeof amount !== 'number' || !Number.isFinite(amount) || amount < 0) {
    throw invalid(`expected \`${field}\` to be a non-negative number, got ${String(amount)}`, policy)
  }
}

/** An amount in the policy's counter units: dollars scaled to money units; tokens and requests only whole, never rounded. */
function inCounterUnits(amount: number, policy: NormalizedPolicy, kind: AuditEntry['action']): number {
  if (policy.unit !== 'usd' && !Number.isInteger(amount))
    throw invalid(`expected the ${kind} to be a whole number of ${policy.unit} (the policy counts ${policy.unit}), got ${amount}`, policy.name)
  const scaled = Math.round(amount * policy.scale)
  if (!Number.isSafeInteger(scaled)) throw invalid(`the ${kind} of ${amount} is too large`, policy.name)
  return scaled
}

/** The targets of every policy that counts this caller; the ones whose identifier it lacks are left out. */
async function inspectable(
  policies: readonly NormalizedPolicy[],
  context: QuotaContext,
  at: number,
  anchors: ReadonlyMap<string, number> | undefined,
): Promise<PolicyTarget[]> {
  const targets: PolicyTarget[] = []
  for (const policy of policies) {
    try {
      targets.push(await statusTarget(policy, context, at, anchors?.get(policy.name)))
    } catch (error) {
      if (!(QuotaInputError.isInstance(error) && error.code === 'UnresolvedIdentifier')) throw error
    }
  }
  return targets
}

function inspectionOf(target: PolicyTarget, snapshot: CounterSnapshot, state: CounterAdminState): PolicyInspection {
  const decision = decisionOf(target, snapshot)
  const unit = (amount: number) => (target.policy.scale === 1 ? amount : amount / target.policy.scale)
  const overrides: OverrideInForce[] = []
  const add = (kind: OverrideKind, scope: OverrideInForce['scope'], value: OverrideValue | undefined) => {
    if (value) overrides.push({ kind, scope, amount: unit(value.amount), ...(value.until === undefined ? {} : { until: value.until }) })
  }
  // A shared counter's overrides are the whole policy's.
  const own = target.identifierKey === '' ? 'class' : 'identifier'
  const { allow, familyAllow, grants, familyGrants } = state.overrides
  add('allow', own, allow)
  add('allow', 'class', familyAllow)
  for (const grant of grants ?? []) add('grant', own, grant)
  for (const grant of familyGrants ?? []) add('grant', 'class', grant)
  const policyAllowed = target.limit === undefined ? decision.allowed : unit(target.limit)
  const refusals = refusalsInWindow(state.refusals, snapshot.windowStart)
  const refusal = state.lastRefusal
  if (!refusal) return { ...decision, refusals, policyAllowed, overrides }
  const [requested, limitThen, used, reserved] = [unit(refusal.requested), unit(refusal.limit), unit(refusal.used), unit(refusal.reserved)]
  const reason = describeShortfall({ requested, limit: limitThen, used, reserved, unit: decision.unit })
  return { ...decision, refusals, policyAllowed, overrides, lastRefusal: { at: refusal.at, requested, limit: limitThen, used, reserved, reason } }
}
