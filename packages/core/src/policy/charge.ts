import { type ModelPricing, moneyUnits } from '../price/price-table.js'
import type { EstimateBound, NormalizedUsage } from '../shared/types.js'
import { weightedUsage } from '../shared/usage.js'
import type { CountMode, TokenWeights } from './policy-types.js'

function weightsOf(weights: TokenWeights) {
  const input = weights.input ?? 0
  const output = weights.output ?? 0
  return { input, output, cachedInput: weights.cachedInput ?? input, cacheWrite: weights.cacheWrite ?? input, reasoning: weights.reasoning ?? output }
}

type TokenCountMode = Exclude<CountMode, 'usd'>

function chargeFor(count: TokenCountMode, usage: NormalizedUsage): number {
  switch (count) {
    case 'total':
      return usage.total
    case 'input':
      return usage.input
    case 'output':
      return usage.output
    case 'requests':
      return 1
    default: {
      const weight = weightsOf(count)
      return Math.ceil(weightedUsage(usage, weight))
    }
  }
}

function chargeBoundFor(count: TokenCountMode, estimate: EstimateBound): number {
  switch (count) {
    case 'total':
      return estimate.total
    case 'input':
      return estimate.input
    case 'output':
      return estimate.output
    case 'requests':
      return 1
    default: {
      const weight = weightsOf(count)
      const inputWeight = Math.max(weight.input, weight.cachedInput, weight.cacheWrite)
      const outputWeight = Math.max(weight.output, weight.reasoning)
      const perSide = estimate.input * inputWeight + estimate.output * outputWeight
      return Math.ceil(Math.min(perSide, estimate.total * Math.max(inputWeight, outputWeight)))
    }
  }
}

/** What a policy charges, in counter units: for real usage, and at most for a request with an estimate. */
export interface ChargeFunctions {
  charge(usage: NormalizedUsage, pricing?: ModelPricing): number
  chargeBound(estimate: EstimateBound, pricing?: ModelPricing): number
}

/** The charge functions of a policy that counts `count`; a money policy prices with `pricing`, else its `unpriced` rate. */
export function chargeFunctions(count: CountMode, unpriced: ModelPricing | undefined): ChargeFunctions {
  if (count === 'usd') {
    return {
      charge: (usage, pricing) => moneyUnits((pricing ?? unpriced)!.cost(usage)),
      chargeBound: (estimate, pricing) => moneyUnits((pricing ?? unpriced)!.costBound(estimate)),
    }
  }
  return { charge: (usage) => chargeFor(count, usage), chargeBound: (estimate) => chargeBoundFor(count, estimate) }
}
