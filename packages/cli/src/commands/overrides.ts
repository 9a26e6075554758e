import { userInfo } from 'node:os'
import { terminal } from '../terminal.js'
import { type AdminActor, type AdminResult, type AdminTarget, QuotaInputError, type TokenQuota } from '@tokenquota/core'
import { CliError } from '../cli-error.js'
import { describeContext } from '../context.js'
import { printable } from '../printable.js'
import { type AdminAction, type AmountFlag, type ScopeFlags, scopedTargets } from '../scope.js'
import { type SessionFlags, withQuota } from '../session.js'
import { amount, instant } from '../table.js'
import { amountOf } from '../numbers.js'
import { untilOf } from '../until.js'

export interface OverrideFlags extends SessionFlags, ScopeFlags {
  readonly until?: string
  readonly reason?: string
  /** Who acts, for the audit log. @default $USER */
  readonly operator?: string
  /** Names the change: run again with the same key (within 24 h), it is not applied again. */
  readonly idempotencyKey?: string
}

/** What an admin command tells the audit log, and its idempotency key. */
export interface ActorFlags {
  readonly operator?: string
  readonly reason?: string
  readonly idempotencyKey?: string
}

/**
 * The actor of each admin call of a command, by policy: one command may change several counters,
 * each under its own key derived from `--idempotency-key` (`key:policy`), so a re-run applies none twice.
 */
export function actorsOf(flags: ActorFlags): (target: AdminTarget) => AdminActor {
  const { idempotencyKey: key } = flags
  if (key !== undefined && key.trim() === '') throw new CliError('--idempotency-key: expected a non-empty key')
  const actor = { by: operatorOf(flags), reason: flags.reason }
  return (target) => (key === undefined ? actor : { ...actor, idempotencyKey: `${key}:${target.policy}` })
}

/**
 * Runs one admin call of a command: returns the line's lead (`verb`, or "already applied … nothing
 * changed" for a replay), and turns a key reused for another change into one line, exit 2.
 */
export async function adminCall(flags: ActorFlags, policy: string, verb: string, call: () => Promise<AdminResult>): Promise<string> {
  try {
    const { replayed } = await call()
    return replayed ? `already applied (idempotency key ${flags.idempotencyKey}): nothing changed on` : verb
  } catch (error) {
    if (QuotaInputError.isInstance(error) && error.code === 'IdempotencyKeyReused')
      throw new CliError(
        `--idempotency-key ${flags.idempotencyKey} was already used for a different change on ${policy} (within 24 hours): nothing changed; use a new key`,
      )
    throw error
  }
}

/** Who the audit log names: `--operator`, else the logged-in user. */
export function operatorOf(flags: { readonly operator?: string }): string {
  if (flags.operator) return flags.operator
  try {
    return terminal().env.USER ?? userInfo().username
  } catch {
    return 'cli'
  }
}

function whoOf(target: AdminTarget): string {
  if (target.class !== undefined) return `class ${printable(target.class)}`
  return Object.keys(target.context ?? {}).length === 0 ? '(shared)' : describeContext(target.context ?? {})
}

/** Runs one admin write per target and prints the limit now in force for each. */
async function eachTarget(
  flags: OverrideFlags,
  action: AdminAction,
  verb: string,
  write: (quota: TokenQuota, target: AdminTarget & AdminActor) => Promise<AdminResult>,
  amountFlag?: AmountFlag,
): Promise<void> {
  const actorOf = actorsOf(flags)
  await withQuota(flags, async (quota) => {
    for (const { target } of await scopedTargets(quota, flags, action, amountFlag)) {
      const lead = await adminCall(flags, target.policy, verb, () => write(quota, { ...target, ...actorOf(target) }))
      const now = target.context ? (await quota.admin.inspect(target.context)).find((row) => row.policy === target.policy) : undefined
      const inForce = now ? `; allowed now ${amount(now.allowed, now.unit)} ${now.unit}, ${amount(now.available, now.unit)} available` : ''
      terminal().out(`${lead} ${target.policy} for ${whoOf(target)}${inForce}\n`)
    }
  })
}

/** `tokenquota grant --user alice --plan premium --policy user-daily --add 50000 --until 30d`: more tokens for a while. */
export async function grant(flags: OverrideFlags & { readonly add: string }): Promise<void> {
  const add = amountOf(flags.add, '--add')
  const until = untilOf(flags.until, Date.now())
  const ends = until === undefined ? '' : ` until ${instant(until)}`
  await eachTarget(flags, 'grant', `granted +${add}${ends} on`, (quota, target) => quota.admin.grant({ ...target, add, until }), {
    flag: '--add',
    text: flags.add,
  })
}

/** `tokenquota set --user alice --policy user-daily --allow 200000`: a limit in place of the policy's. */
export async function setAllow(flags: OverrideFlags & { readonly allow: string }): Promise<void> {
  const allow = amountOf(flags.allow, '--allow')
  const until = untilOf(flags.until, Date.now())
  await eachTarget(flags, 'set', `set allow ${allow} on`, (quota, target) => quota.admin.set({ ...target, allow, until }), {
    flag: '--allow',
    text: flags.allow,
  })
}

/** `tokenquota clear --user alice --policy user-daily`: back to the policy's limit. */
export async function clear(flags: OverrideFlags): Promise<void> {
  await eachTarget(flags, 'clear', 'cleared overrides on', (quota, target) => quota.admin.clear(target))
}
