import { QuotaConfigError } from '../shared/errors.js'
import type { NormalizedPolicy } from './normalized-policy.js'

function invalid(policy: string, message: string): QuotaConfigError {
  return new QuotaConfigError({ code: 'InvalidConfiguration', policy, field: 'spillTo', message })
}

/**
 * Checks every `spillTo` against the policies it names: a balance policy, counting the same way,
 * for the same identifier and the same kind of call, spilled into by one enforcing policy only
 * (a balance fills one allowance's group at a time).
 */
export function checkSpills(policies: readonly NormalizedPolicy[]): void {
  const spilledFrom = new Map<string, string>()
  for (const policy of policies) {
    const target = policy.spillTo
    if (target === undefined) continue
    const balance = policies.find((candidate) => candidate.name === target)
    if (balance?.type !== 'balance') throw invalid(policy.name, `Expected \`spillTo\` to name a \`type: 'balance'\` policy, got "${target}"`)
    if (policy.mode !== 'enforce') throw invalid(policy.name, `only an \`enforce\` policy spills into credits (this one is \`${policy.mode}\`)`)
    if (policy.sharedName !== policy.name) throw invalid(policy.name, 'a policy that spills into credits cannot share its counter (`sharedName`)')
    if (JSON.stringify(policy.count) !== JSON.stringify(balance.count))
      throw invalid(policy.name, `spills into "${target}", which counts ${JSON.stringify(balance.count)}; both must count the same way`)
    if (policy.identifier !== balance.identifier)
      throw invalid(policy.name, `spills into "${target}", which has another \`identifier\`; both must name the same one (the same context key or function)`)
    if (policy.resource.kind !== balance.resource.kind)
      throw invalid(policy.name, `spills into "${target}", which counts ${balance.resource.kind} calls; both must count the same kind`)
    const other = spilledFrom.get(target)
    if (other !== undefined) throw invalid(policy.name, `"${other}" spills into "${target}" already; a balance takes the spill of one policy`)
    spilledFrom.set(target, policy.name)
  }
}
