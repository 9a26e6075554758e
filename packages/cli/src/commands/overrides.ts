import { userInfo } from 'node:os'
import type { AdminTarget, TokenQuota } from '@tokenquota/core'
import { CliError } from '../cli-error.js'
import { type ContextFlags, contextOf, describeContext } from '../context.js'
import { type SessionFlags, withQuota } from '../session.js'
import { amount, instant } from '../table.js'
import { amountOf, untilOf } from '../until.js'

export interface OverrideFlags extends SessionFlags, ContextFlags {
  readonly policy?: string
  /** Every identifier of this class instead of one caller. */
  readonly class?: string
  readonly until?: string
  readonly reason?: string
  /** Who acts, for the audit log. @default $USER */
  readonly operator?: string
}

/** Who the audit log names: `--operator`, else the logged-in user. */
export function operatorOf(flags: { readonly operator?: string }): string {
  if (flags.operator) return flags.operator
  try {
    return process.env.USER ?? userInfo().username
  } catch {
    return 'cli'
  }
}

/**
 * The counters an override goes to: `--policy` (for one caller or, with `--class`, a class), or
 * without it every enforcing policy that counts the caller by an identifier.
 */
async function targetsOf(quota: TokenQuota, flags: OverrideFlags): Promise<AdminTarget[]> {
  if (flags.class !== undefined) {
    if (!flags.policy) throw new CliError('--class needs --policy (the policy whose class allow changes)')
    // A context names the class's shard (with a shardKey, each shard keeps its own overrides).
    const shard = contextOf(flags)
    return [Object.keys(shard).length === 0 ? { policy: flags.policy, class: flags.class } : { policy: flags.policy, class: flags.class, context: shard }]
  }
  const context = contextOf(flags)
  if (Object.keys(context).length === 0) throw new CliError('name a caller (--user, --org, --project, --context key=value) or a --class')
  if (flags.policy) return [{ policy: flags.policy, context }]
  const rows = await quota.admin.inspect(context)
  const policies = rows.filter((row) => row.identifier !== null && row.mode !== 'count-only').map((row) => row.policy)
  if (policies.length === 0) throw new CliError(`no enforcing policy counts ${describeContext(context)}`)
  return policies.map((policy) => ({ policy, context }))
}

function whoOf(target: AdminTarget): string {
  return target.class !== undefined ? `class ${target.class}` : describeContext(target.context ?? {})
}

/** Runs one admin write per target and prints the limit now in force for each. */
async function eachTarget(flags: OverrideFlags, verb: string, write: (quota: TokenQuota, target: AdminTarget) => Promise<void>): Promise<void> {
  await withQuota(flags, async (quota) => {
    for (const target of await targetsOf(quota, flags)) {
      await write(quota, target)
      const now = target.context ? (await quota.admin.inspect(target.context)).find((row) => row.policy === target.policy) : undefined
      const inForce = now ? `; allowed now ${amount(now.allowed, now.unit)} ${now.unit}, ${amount(now.available, now.unit)} available` : ''
      process.stdout.write(`${verb} ${target.policy} for ${whoOf(target)}${inForce}\n`)
    }
  })
}

/** `tokenquota grant --user alice --add 50000 --until 2026-12-01`: more tokens for a while. */
export async function grant(flags: OverrideFlags & { readonly add: string }): Promise<void> {
  const add = amountOf(flags.add, '--add')
  const until = untilOf(flags.until, Date.now())
  const ends = until === undefined ? '' : ` until ${instant(until)}`
  await eachTarget(flags, `granted +${add}${ends} on`, (quota, target) =>
    quota.admin.grant({ ...target, add, until, by: operatorOf(flags), reason: flags.reason }),
  )
}

/** `tokenquota set --user alice --policy user-daily --allow 200000`: a limit in place of the policy's. */
export async function setAllow(flags: OverrideFlags & { readonly allow: string }): Promise<void> {
  const allow = amountOf(flags.allow, '--allow')
  const until = untilOf(flags.until, Date.now())
  await eachTarget(flags, `set allow ${allow} on`, (quota, target) => quota.admin.set({ ...target, allow, until, by: operatorOf(flags), reason: flags.reason }))
}

/** `tokenquota clear --user alice --policy user-daily`: back to the policy's limit. */
export async function clear(flags: OverrideFlags): Promise<void> {
  await eachTarget(flags, 'cleared overrides on', (quota, target) => quota.admin.clear({ ...target, by: operatorOf(flags), reason: flags.reason }))
}
