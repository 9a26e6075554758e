import { QuotaConfigError } from '../shared/errors.js'
import type { NormalizedPolicy } from './normalized-policy.js'

/** Each `rollover.into` names another policy, a balance in the same unit. */
export function checkRolloverTargets(policies: readonly NormalizedPolicy[]): void {
  for (const policy of policies) {
    if (policy.rollover === undefined) continue
    const into = policies.find((candidate) => candidate.name === policy.rollover!.into)
    const problem =
      into === undefined
        ? 'names no policy'
        : (into.type as string) !== 'balance'
          ? `names a \`${into.type}\` policy, not a balance (\`type: 'balance'\`)`
          : into.unit !== policy.unit
            ? `names a balance in ${into.unit}, not in ${policy.unit}`
            : undefined
    if (problem)
      throw new QuotaConfigError({
        code: 'InvalidConfiguration',
        policy: policy.name,
        field: 'rollover.into',
        message: `\`rollover.into\` ("${policy.rollover.into}") ${problem}`,
      })
  }
}
