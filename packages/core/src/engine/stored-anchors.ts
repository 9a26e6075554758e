// Billing-cycle anchors kept in the store, for callers whose context has none
// (`quota.admin.setAnchor`). An anchor is an `allow` override (the anchor day, in days since
// 1970-01-01) on a counter family of its own, `<counter>@anchor`, that no reservation charges: every
// store keeps such overrides already, atomically with an audit entry, once per idempotency key.
import { anchorDayOf, type AnchorValue } from '../policy/anchor.js'
import { resolveIdentifier } from '../policy/identifier.js'
import type { NormalizedPolicy } from '../policy/normalized-policy.js'
import { QuotaInputError } from '../shared/errors.js'
import type { QuotaContext } from '../shared/types.js'
import type { WindowSpec } from '../store/counter-ref.js'
import type { QuotaStore } from '../store/quota-store.js'
import type { AuditEntry } from '../store/store-admin.js'
import type { QuotaEvents } from './events.js'
import type { EngineSettings } from './settings.js'

const dayMs = 86_400_000
/** Overrides are read per counter: the anchor's family has one counter, in no particular window. */
const everWindow: WindowSpec = Object.freeze({ kind: 'fixed', start: 0, end: Number.MAX_SAFE_INTEGER })

/** The counter family that holds a policy's stored anchors: `@` is in no policy name. */
export function anchorFamily(policy: NormalizedPolicy): string {
  return `${policy.counterName}@anchor`
}

/**
 * The stored anchor days of the anchored policies whose context gives no anchor, by policy name;
 * `undefined` (no store read) when every anchored policy has its anchor in the context. A policy
 * whose identifier or anchor is unusable is left out: planning it reports that.
 */
export function storedAnchors(
  store: QuotaStore,
  policies: readonly NormalizedPolicy[],
  context: QuotaContext,
  at: number,
  shard: string | undefined,
): Promise<ReadonlyMap<string, number>> | undefined {
  const admin = store.admin
  if (admin === undefined) return undefined
  const wanted: Array<{ policy: NormalizedPolicy; identifier: string }> = []
  for (const policy of policies) {
    if (policy.anchor === undefined || policy.identifier === undefined) continue
    try {
      if (anchorDayOf(policy.name, policy.anchor, context, policy.timeZone) !== undefined) continue
      wanted.push({ policy, identifier: resolveIdentifier(policy, context).key })
    } catch {
      // planning throws it again, with the request's own error
    }
  }
  if (wanted.length === 0) return undefined
  const counters = wanted.map(({ policy, identifier }) => ({ counter: anchorFamily(policy), identifier, window: everWindow }))
  const read = async () => admin.readAdmin({ now: at, shard, counters })
  // A store that does not answer: no stored anchors (calendar windows); the reservation that follows reports the store's failure.
  return read().then(
    (states) => {
      const days = new Map<string, number>()
      states.forEach((state, index) => {
        const stored = state.overrides.allow?.amount
        if (stored !== undefined) days.set(wanted[index]!.policy.name, stored * dayMs)
      })
      return days
    },
    () => new Map<string, number>(),
  )
}

/** `quota.admin.setAnchor`: where one caller's billing cycles start, for requests whose context has no anchor. */
export interface AnchorWrite {
  /** An anchored policy (one with `anchor`). */
  readonly policy: string
  /** Names the caller, like a request's context. */
  readonly context: QuotaContext
  /** A `Date`, epoch ms, an ISO date and time, or a date `YYYY-MM-DD` (read as the policy's `anchor` is). */
  readonly anchor: AnchorValue
  /** Who did it, for the audit log. */
  readonly by?: string
  readonly reason?: string
  /** Makes a retry apply once. @default a new random key */
  readonly idempotencyKey?: string
}

function invalid(message: string, policy?: string): QuotaInputError {
  return new QuotaInputError({ code: 'InvalidAdminRequest', message, policy })
}

/** Stores one caller's anchor, with its audit entry; `replayed` when its key had been applied. */
export async function setAnchor(
  deps: { settings: EngineSettings; store: QuotaStore; events: QuotaEvents },
  request: AnchorWrite,
): Promise<{ replayed: boolean }> {
  const { settings, store, events } = deps
  const policy = settings.policies.find((candidate) => candidate.name === request.policy)
  if (policy?.anchor === undefined) throw invalid(`no policy "${request.policy}" with billing cycles (\`anchor\`)`, policy?.name)
  if (policy.identifier === undefined) throw invalid('has no identifier: its anchor is the policy’s own `anchor`', policy.name)
  if (store.admin === undefined) throw invalid('this store has no admin side to keep anchors in', policy.name)
  const at = settings.now()
  const { key, identifier } = resolveIdentifier(policy, request.context ?? {})
  const day = anchorDayOf(policy.name, () => request.anchor, {}, policy.timeZone)
  if (day === undefined) throw invalid('expected an `anchor`', policy.name)
  const idempotencyKey = request.idempotencyKey ?? globalThis.crypto.randomUUID()
  const audit: AuditEntry = {
    at,
    by: request.by ?? 'unknown',
    action: 'anchor',
    policy: policy.name,
    identifier,
    reason: `billing cycles from ${new Date(day).toISOString().slice(0, 10)}${request.reason === undefined ? '' : `: ${request.reason}`}`,
  }
  const shard = settings.shardOf(request.context ?? {})
  const outcome = await store.admin.writeOverride({
    counter: anchorFamily(policy),
    identifier: key,
    shard,
    now: at,
    key: idempotencyKey,
    audit,
    change: { kind: 'allow', amount: day / dayMs },
  })
  if (outcome.applied) events.emit('admin', audit)
  return { replayed: !outcome.applied }
}
