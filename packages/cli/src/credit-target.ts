import type { QuotaContext, TokenQuota } from '@tokenquota/core'
import { CliError } from './cli-error.js'
import { type ContextFlags, contextOf, describeContext, flagOf } from './context.js'
import { subjectOf } from './scope.js'

type Policy = TokenQuota['policies'][number]

export interface CreditTargetFlags extends ContextFlags {
  /** The balance policy (default: the config's only one). */
  readonly policy?: string
}

/** The balance a `credits` command is about: its policy, the caller's context, and how messages name the caller. */
export interface CreditTarget {
  readonly policy: Policy
  readonly context: QuotaContext
  readonly who: string
}

/** The config's balance policies (`type: 'balance'`). */
function balancePolicies(quota: TokenQuota): readonly Policy[] {
  return quota.policies.filter((policy) => policy.type === 'balance')
}

function chosenPolicy(quota: TokenQuota, name: string | undefined): Policy {
  const balances = balancePolicies(quota)
  const names = balances.map((policy) => policy.name).join(', ')
  if (balances.length === 0) throw new CliError("no balance policy in the config: credits live in a policy with type: 'balance'")
  if (name === undefined) {
    if (balances.length > 1) throw new CliError(`several balance policies (${names}): pass --policy`)
    return balances[0]!
  }
  const policy = quota.policies.find((candidate) => candidate.name === name)
  if (!policy) throw new CliError(`no policy "${name}" in the config (balance policies: ${names})`)
  if (policy.type !== 'balance') throw new CliError(`${name} is not a balance policy (balance policies: ${names})`)
  return policy
}

/**
 * The balance the flags name. A write (`write: true`) changes only the caller's own balance: a
 * balance keyed by a context key the caller did not name alone (an org's, with `--user` named) is
 * shared with others, and is refused with the flag that names it.
 */
export function creditTarget(quota: TokenQuota, flags: CreditTargetFlags, write: boolean): CreditTarget {
  const policy = chosenPolicy(quota, flags.policy)
  const context = contextOf(flags)
  const key = policy.identifier
  if (typeof key !== 'string') {
    if (key !== undefined && Object.keys(context).length === 0) throw new CliError('name a caller: --user, --org, --project or --context key=value')
    return { policy, context, who: Object.keys(context).length === 0 ? '(shared)' : describeContext(subjectOf(context)) }
  }
  const value = context[key]
  if (value === undefined) throw new CliError(`${policy.name} counts by ${key}: name the caller with ${flagOf(key)}`)
  const subject = subjectOf(context)
  if (write && !Object.hasOwn(subject, key)) {
    const counted = describeContext({ [key]: value })
    throw new CliError(
      `${policy.name} counts ${counted}, not ${describeContext(subject)} alone: to change it, name that caller alone (${flagOf(key, String(value))})`,
    )
  }
  return { policy, context, who: describeContext({ [key]: value }) }
}
