import type { CreditBalance, TokenQuota } from '@tokenquota/core'
import { QuotaInputError } from '@tokenquota/core'
import { trackUsage } from '@tokenquota/core/reports'
import { CliError } from '../cli-error.js'
import type { ContextFlags } from '../context.js'
import { type CreditTargetFlags, creditTarget } from '../credit-target.js'
import { amountOf, countOf, integerOf } from '../numbers.js'
import { printable } from '../printable.js'
import { jsonOf, type SessionFlags, withQuota } from '../session.js'
import { instant } from '../table.js'
import { terminal } from '../terminal.js'
import { expiresOf } from '../until.js'
import { operatorOf } from './overrides.js'
import { balanceLine, grantsTable, ledgerTable, withUnit } from './credits-format.js'

export interface CreditFlags extends SessionFlags, ContextFlags, CreditTargetFlags {
  readonly json?: boolean
}

export interface CreditsAddFlags extends CreditFlags {
  /** The top-up's idempotency key (a payment's event id): the same key credits once, forever. */
  readonly key: string
  readonly amount: string
  readonly expires?: string
  readonly priority?: string
  readonly by?: string
  readonly reason?: string
}

export interface CreditsLedgerFlags extends CreditFlags {
  readonly after?: string
  readonly limit: string
}

/**
 * Runs a credits command on the app's store and prints what it returns. What it records (a top-up,
 * an expiry it came upon) goes to the app's usage aggregates too, so `tokenquota report` counts it.
 */
async function withCredits(flags: SessionFlags, work: (quota: TokenQuota) => Promise<string>): Promise<void> {
  await withQuota(flags, async (quota, connection) => {
    const tracking = trackUsage(quota, { store: connection.usage })
    try {
      terminal().out(await work(quota))
    } finally {
      await tracking.flush()
      tracking.stop()
    }
  })
}

/** `tokenquota credits add --user alice --amount 5000 --key pay_123`: a top-up, applied once per key. */
export async function creditsAdd(flags: CreditsAddFlags): Promise<void> {
  topUpFlagsOf(flags) // a bad flag is a usage error (exit 2) even when the store is down
  await withCredits(flags, (quota) => addCredits(quota, flags))
}

/** `tokenquota credits show --user alice`: the balance, what is reserved, and the grants with something left. */
export async function creditsShow(flags: CreditFlags): Promise<void> {
  await withCredits(flags, (quota) => showCredits(quota, flags))
}

/** `tokenquota credits ledger --user alice`: the balance's ledger rows, oldest first. */
export async function creditsLedger(flags: CreditsLedgerFlags): Promise<void> {
  await withCredits(flags, (quota) => ledgerOf(quota, flags))
}

/** What `credits add` prints; a key already used for another change is one line, exit 2. */
export async function addCredits(quota: TokenQuota, flags: CreditsAddFlags): Promise<string> {
  const { value, expiresAt, priority } = topUpFlagsOf(flags)
  if (expiresAt !== undefined && expiresAt <= quota.now())
    throw new CliError(`--expires ${printable(flags.expires ?? '')} is not after now (${instant(quota.now())}): a top-up would expire at once; nothing changed`)
  const target = creditTarget(quota, flags, true)
  const { policy, who } = target
  const key = printable(flags.key)
  try {
    const { applied, balance } = await quota.admin.topUp({
      policy: policy.name,
      context: target.context,
      amount: value,
      key: flags.key,
      by: flags.by ?? operatorOf({}),
      ...(expiresAt === undefined ? {} : { expiresAt }),
      ...(priority === undefined ? {} : { priority }),
      ...(flags.reason === undefined ? {} : { reason: flags.reason }),
    })
    const ends = expiresAt === undefined ? '' : `, expires ${instant(expiresAt)}`
    const lead = applied
      ? `added ${withUnit(value, balance.unit)} to ${policy.name} for ${who} (key ${key}${ends})`
      : `already applied (key ${key}): nothing changed on ${policy.name} for ${who}`
    return `${lead}; ${balanceLine(balance)}\n`
  } catch (error) {
    if (QuotaInputError.isInstance(error) && error.code === 'IdempotencyKeyReused')
      throw new CliError(`--key ${key} was already used for a different change on ${policy.name} for ${who}: nothing changed; use a new key`)
    throw error
  }
}

/** The top-up's own flags, checked without the store: the amount, when it expires, its priority. */
function topUpFlagsOf(flags: CreditsAddFlags): { value: number; expiresAt: number | undefined; priority: number | undefined } {
  if (flags.key.trim() === '') throw new CliError('--key: expected a non-empty key (the payment or event id the top-up is for)')
  const value = amountOf(flags.amount, '--amount')
  if (value <= 0) throw new CliError(`expected --amount to be a positive number, got "${flags.amount}"`)
  const expiresAt = expiresOf(flags.expires)
  const priority = flags.priority === undefined ? undefined : integerOf(flags.priority, '--priority', 0, 100)
  return { value, expiresAt, priority }
}

/** What `credits show` prints. */
export async function showCredits(quota: TokenQuota, flags: CreditFlags): Promise<string> {
  const { policy, context, who } = creditTarget(quota, flags, false)
  const balance: CreditBalance = await quota.admin.credits({ policy: policy.name, context })
  if (flags.json) return jsonOf(balance)
  return `${policy.name} for ${who}: ${balanceLine(balance)}\n\n${grantsTable(balance)}\n`
}

/** What `credits ledger` prints; a full page ends with the `--after` that reads on. */
export async function ledgerOf(quota: TokenQuota, flags: CreditsLedgerFlags): Promise<string> {
  const after = flags.after === undefined ? undefined : integerOf(flags.after, '--after', 0)
  const limit = countOf(flags.limit, '--limit')
  const { policy, context, who } = creditTarget(quota, flags, false)
  const rows = await quota.admin.ledger({ policy: policy.name, context, limit, ...(after === undefined ? {} : { after }) })
  if (flags.json) return jsonOf(rows)
  if (rows.length === 0) return `${policy.name} for ${who}: no ledger rows${after === undefined ? '' : ` after ${after}`}\n`
  const more = rows.length === limit ? `\nmore rows: --after ${rows.at(-1)!.seq}\n` : ''
  return `${policy.name} for ${who} (${policy.unit})\n\n${ledgerTable(rows, policy.unit)}\n${more}`
}
