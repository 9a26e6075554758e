import type { PolicyInspection, QuotaContext, TokenQuota } from '@tokenquota/core'
import { CliError } from './cli-error.js'
import { flagOf } from './context.js'
import { printable } from './printable.js'

type Policy = TokenQuota['policies'][number]

/** The classes a policy with a class-based `allow` knows (`premium`, `standard`), else none. */
export function classesOf(policy: Policy): readonly string[] {
  return typeof policy.allow === 'object' ? [...policy.allow.counts.keys()] : []
}

/**
 * The context key a class-based policy reads its class from (`plan`, `project`), found by asking
 * its class function with each key the caller named or the CLI knows; `undefined` when none answers.
 */
export function classKeyOf(policy: Policy, context: QuotaContext = {}): string | undefined {
  if (typeof policy.allow !== 'object') return undefined
  const probe = '\u0000tokenquota-cli-probe'
  const keys = new Set(['plan', 'project', 'org', 'user', ...Object.keys(context)])
  for (const key of keys) {
    try {
      if (policy.allow.class({ [key]: probe }) === probe) return key
    } catch {
      // a class function that needs more of the context: not this key
    }
  }
  return undefined
}

/**
 * Refuses rows whose class the policy has no limit for (no `--plan`, or an unknown one): the app
 * would refuse such a caller, and a `0 / 0` window would hide the mistake. Names the known classes.
 */
export function checkClasses(quota: TokenQuota, rows: readonly PolicyInspection[], context: QuotaContext): void {
  const unknown = rows.flatMap((row) => {
    const policy = quota.policies.find((candidate) => candidate.name === row.policy)
    if (!policy?.enforces || typeof policy.allow !== 'object' || policy.allow.counts.has(row.class ?? '')) return []
    return [{ policy, class: row.class ?? '' }]
  })
  const first = unknown[0]
  if (!first) return
  const key = classKeyOf(first.policy, context)
  const same = unknown.filter((entry) => classKeyOf(entry.policy, context) === key && entry.class === first.class).map((entry) => entry.policy.name)
  const noun = key ?? 'class'
  const known = classesOf(first.policy).map(printable).join(', ')
  const flag = key === undefined ? 'the context key it reads' : flagOf(key)
  if (first.class === '') throw new CliError(`${same.join(', ')} limit${same.length === 1 ? 's' : ''} by ${noun}: pass ${flag} (one of ${known})`)
  throw new CliError(`unknown ${noun} "${printable(first.class)}" for ${same.join(', ')}: the known ${noun}s are ${known}`)
}
