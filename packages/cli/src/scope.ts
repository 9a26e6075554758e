import type { AdminTarget, PolicyInspection, QuotaContext, TokenQuota } from '@tokenquota/core'
import { CliError } from './cli-error.js'
import { type ContextFlags, contextOf, describeContext, flagOf } from './context.js'
import { inspectCaller } from './session.js'
import { amount } from './table.js'

/** An operator's write: `grant` and `set` take an amount; `set`, `clear` and `reset` lose what was there. */
export type AdminAction = 'grant' | 'set' | 'clear' | 'reset'

export interface ScopeFlags extends ContextFlags {
  readonly policy?: string
  /** Every identifier of this class instead of one caller. */
  readonly class?: string
  /** Confirms a destructive action over several counters. */
  readonly yes?: boolean
}

/** One counter a command changes, with its window before the change (none for a class). */
export interface ScopedTarget {
  readonly target: AdminTarget
  readonly row?: PolicyInspection
}

/** The amount flag as typed, for the ambiguity message (`--add 50000`). */
export interface AmountFlag {
  readonly flag: string
  readonly text: string
}

/**
 * Who a command is about: the user if named, else the project, else the organization, else the
 * `--context` keys. The other keys (and `--plan`) only help resolve the counters; a counter keyed
 * by them (a project's, the organization's) is shared with other callers and is not the subject's.
 */
export function subjectOf(context: QuotaContext): QuotaContext {
  for (const key of ['user', 'project', 'org']) if (context[key] !== undefined) return { [key]: context[key] }
  return Object.fromEntries(Object.entries(context).filter(([key]) => key !== 'plan'))
}

type Ownership = { kind: 'own' } | { kind: 'shared' } | { kind: 'function' } | { kind: 'other'; key: string }

function ownershipOf(quota: TokenQuota, row: PolicyInspection, subject: QuotaContext): Ownership {
  const identifier = quota.policies.find((policy) => policy.name === row.policy)?.identifier
  if (identifier === undefined) return { kind: 'shared' }
  // A function of the context: only --policy names it (we cannot tell who else it counts together).
  if (typeof identifier !== 'string') return { kind: 'function' }
  return Object.hasOwn(subject, identifier) ? { kind: 'own' } : { kind: 'other', key: identifier }
}

/** A counter with something in it: usage, a reservation, an override or a refusal, or credits on a balance. */
export function isActive(row: PolicyInspection): boolean {
  if (row.type === 'balance' && row.allowed > 0) return true
  return row.used > 0 || row.reserved > 0 || row.overrides.length > 0 || row.lastRefusal !== undefined
}

/**
 * The counters of a caller the store has seen; a caller no policy counts, or whose own counters
 * (not the shared ones others spend) show nothing in the current windows, is an error.
 */
export async function inspectKnown(quota: TokenQuota, context: QuotaContext): Promise<readonly PolicyInspection[]> {
  const rows = await inspectCaller(quota, context)
  const subject = subjectOf(context)
  const who = describeContext(subject)
  if (rows.length === 0) {
    const keys = [...new Set(quota.policies.map((policy) => (typeof policy.identifier === 'string' ? policy.identifier : undefined)).filter(Boolean))]
    throw new CliError(`no policy counts ${who}: the policies count by ${keys.join(', ') || 'functions of the context'}`)
  }
  const own = rows.filter((row) => ['own', 'function'].includes(ownershipOf(quota, row, subject).kind))
  if (!own.some(isActive)) {
    throw new CliError(
      `unknown identifier: ${describeContext(context)} has no usage, reservation, override or refusal in the current windows (do --prefix and --hash-tag match the app's store?)`,
    )
  }
  return rows
}

/**
 * The counters a command changes. `--class` (with `--policy`): that class's limit. `--policy` alone:
 * a policy without identifier (one counter for everyone). A caller with `--policy`: that policy, if
 * it counts the caller alone. A caller without `--policy`: the caller's own counters, only if that
 * is unambiguous (one unit for an amount; `--yes` for a destructive action over several). Never a
 * balance: credits change through `credits add`.
 */
export async function scopedTargets(quota: TokenQuota, flags: ScopeFlags, action: AdminAction, amountFlag?: AmountFlag): Promise<ScopedTarget[]> {
  if (quota.policies.some((policy) => policy.name === flags.policy && policy.type === 'balance'))
    throw new CliError(`${flags.policy} is a balance (credits, no window): ${action} changes windowed limits; add credits with tokenquota credits add`)
  if (flags.class !== undefined) {
    if (!flags.policy) throw new CliError('--class needs --policy (the policy whose class allow changes)')
    // The context names the class's shard (with a shardKey, each shard keeps its own overrides).
    return [{ target: { policy: flags.policy, class: flags.class, context: contextOf(flags) } }]
  }
  const context = contextOf(flags)
  const subject = subjectOf(context)
  if (Object.keys(subject).length === 0) return sharedTarget(quota, flags, context)
  const rows = await inspectCaller(quota, context)
  const who = describeContext(subject)
  if (flags.policy !== undefined) return [namedTarget(quota, rows, flags.policy, context, subject)]
  // A balance's credits change through `credits add`, never as a windowed limit.
  const own = rows.filter((row) => row.type !== 'balance' && ownershipOf(quota, row, subject).kind === 'own' && wanted(row, action))
  if (own.length === 0) throw new CliError(nothingFor(action, who))
  const units = new Set(own.map((row) => row.unit))
  if (units.size > 1 && amountFlag) {
    const list = own.map((row) => `${row.policy} (${row.unit})`).join(', ')
    throw new CliError(`${amountFlag.flag} ${amountFlag.text} is ambiguous for ${who}: it counts ${list}; pass --policy`)
  }
  if (own.length > 1 && action !== 'grant' && !flags.yes) {
    const list = own.map((row) => (action === 'reset' ? `${row.policy} (${amount(row.used, row.unit)} ${row.unit} used)` : row.policy)).join(', ')
    throw new CliError(`${action} would change ${own.length} counters of ${who}: ${list}; pass --yes to ${action} them all, or --policy to pick one`)
  }
  return own.map((row) => ({ target: { policy: row.policy, context }, row }))
}

/** Which of the caller's own counters an action without `--policy` is about. */
function wanted(row: PolicyInspection, action: AdminAction): boolean {
  if (action === 'reset') return row.used > 0
  if (action === 'clear') return row.overrides.some((override) => override.scope === 'identifier')
  return row.mode !== 'count-only'
}

function nothingFor(action: AdminAction, who: string): string {
  if (action === 'reset') return `nothing to reset: ${who} has used nothing in the current windows`
  if (action === 'clear') return `nothing to clear: ${who} has no override of its own`
  return `no enforcing policy counts ${who}`
}

function namedTarget(quota: TokenQuota, rows: readonly PolicyInspection[], policy: string, context: QuotaContext, subject: QuotaContext): ScopedTarget {
  const who = describeContext(subject)
  const row = rows.find((candidate) => candidate.policy === policy)
  if (!row) throw new CliError(`policy "${policy}" does not count ${who} (it counts: ${rows.map((candidate) => candidate.policy).join(', ')})`)
  const ownership = ownershipOf(quota, row, subject)
  if (ownership.kind === 'shared')
    throw new CliError(`${policy} counts everyone together, not ${who} alone: to change it, name the policy without a caller (--policy ${policy})`)
  if (ownership.kind === 'other') {
    const counted = describeContext({ [ownership.key]: row.identifier ?? '' })
    throw new CliError(`${policy} counts ${counted}, not ${who} alone: to change it, name that caller alone (${flagOf(ownership.key, row.identifier ?? '')})`)
  }
  return { target: { policy, context }, row }
}

/** `--policy` without a caller: a policy without identifier, whose one counter everyone shares. */
async function sharedTarget(quota: TokenQuota, flags: ScopeFlags, context: QuotaContext): Promise<ScopedTarget[]> {
  const policy = flags.policy === undefined ? undefined : quota.policies.find((candidate) => candidate.name === flags.policy)
  if (!policy || policy.identifier !== undefined)
    throw new CliError('name a caller (--user, --org, --project, --context key=value), a --class with --policy, or --policy of a policy without identifier')
  const row = (await inspectCaller(quota, context)).find((candidate) => candidate.policy === policy.name)
  return [{ target: { policy: policy.name, context }, ...(row ? { row } : {}) }]
}
