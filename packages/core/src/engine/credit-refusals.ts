import { inPolicyUnit, type NormalizedPolicy } from '../policy/normalized-policy.js'
import { InsufficientCreditsError, QuotaInputError } from '../shared/errors.js'
import { showAmount } from '../shared/shortfall.js'
import { creditsTooLargeOf } from '../store/algebra/index.js'

/**
 * A store's refusal of a credit write, said again in the balance policy's unit and naming the
 * policy. Stores speak counter units (1e-8 dollar on a dollar balance), which no operator typed:
 * `150000000` for a correction of -$1.50. Any other error is returned as it is.
 */
export function creditRefusalFor(policy: NormalizedPolicy, error: unknown): unknown {
  const inUnit = (amount: number) => inPolicyUnit(policy, amount)
  if (InsufficientCreditsError.isInstance(error) && error.unit === 'counter') {
    const { requested, balance } = error
    return new InsufficientCreditsError({ requested: inUnit(requested), balance: inUnit(balance), unit: policy.unit, policy: policy.name, cause: error })
  }
  const tooLarge = creditsTooLargeOf(error)
  if (tooLarge) {
    const show = (amount: number) => showAmount(inUnit(amount), policy.unit)
    const message = `a credit of ${show(tooLarge.amount)} would take the balance of ${show(tooLarge.balance)} past ${show(Number.MAX_SAFE_INTEGER)}, the most a balance holds exactly: nothing changed`
    return new QuotaInputError({ code: 'InvalidAdminRequest', message, policy: policy.name, cause: error })
  }
  if (QuotaInputError.isInstance(error) && error.policy === undefined)
    return new QuotaInputError({ code: error.code, message: error.message, policy: policy.name, cause: error })
  return error
}
