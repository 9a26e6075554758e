import { QuotaConfigError } from '../shared/errors.js'
import type { NormalizedPolicy } from './normalized-policy.js'
import { normalizePolicy } from './policy.js'
import { checkRolloverTargets } from './rollover-check.js'
import type { QuotaPolicy, UnidentifiedPolicy } from './policy-types.js'
import { checkSpills } from './spill-check.js'

/**
 * Validates a list of policies, each on its own and together: unique names, coherent shared
 * counters, no `enforce-only` policy without a counting partner.
 */
export function normalizePolicies(configs: readonly QuotaPolicy[], defaults: { unidentified: UnidentifiedPolicy }): readonly NormalizedPolicy[] {
  if (!Array.isArray(configs) || configs.length === 0) {
    throw new QuotaConfigError({ code: 'InvalidConfiguration', field: 'policies', message: 'Expected `policies` to be a non-empty array of policies' })
  }
  const policies = configs.map((policy) => normalizePolicy(policy, defaults))
  checkPolicySet(policies)
  checkSpills(policies)
  checkRolloverTargets(policies)
  return Object.freeze(policies)
}

function checkPolicySet(policies: readonly NormalizedPolicy[]): void {
  const names = new Set<string>()
  const groups = new Map<string, NormalizedPolicy[]>()
  for (const policy of policies) {
    if (names.has(policy.name))
      throw new QuotaConfigError({
        code: 'InvalidConfiguration',
        policy: policy.name,
        field: 'name',
        message: 'Two policies have this name; names must be unique',
      })
    names.add(policy.name)
    const group = groups.get(policy.sharedName) ?? []
    group.push(policy)
    groups.set(policy.sharedName, group)
  }
  for (const [counterName, group] of groups) {
    const [first] = group as [NormalizedPolicy]
    for (const policy of group.slice(1)) {
      for (const field of ['type', 'interval', 'timeUnit', 'startTime', 'timeZone', 'anchor'] as const) {
        if (policy[field] !== first[field]) {
          throw new QuotaConfigError({
            code: 'InvalidConfiguration',
            policy: policy.name,
            field,
            message: `Policies sharing the counter "${counterName}" must have the same \`${field}\` (${String(first[field])} in "${first.name}")`,
          })
        }
      }
      if (policy.resource.kind !== first.resource.kind) {
        throw new QuotaConfigError({
          code: 'InvalidConfiguration',
          policy: policy.name,
          field: 'tools',
          message: `Policies sharing the counter "${counterName}" must all count tool calls (\`tools\`) or all model calls ("${first.name}" counts ${first.resource.kind} calls)`,
        })
      }
      if (JSON.stringify(policy.count) !== JSON.stringify(first.count)) {
        throw new QuotaConfigError({
          code: 'InvalidConfiguration',
          policy: policy.name,
          field: 'count',
          message: `Policies sharing the counter "${counterName}" must count the same way`,
        })
      }
    }
    for (const policy of group) {
      if (policy.mode === 'enforce-only' && !group.some((other) => other.counts)) {
        throw new QuotaConfigError({
          code: 'InvalidConfiguration',
          policy: policy.name,
          field: 'mode',
          message: `An \`enforce-only\` policy never counts; without a \`count-only\` or \`enforce\` policy with the same \`sharedName\` ("${counterName}") its counter stays at zero and it never refuses`,
        })
      }
    }
  }
}
