import { moneyCounterName, moneyUnitsPerDollar } from '../price/price-table.js'
import { QuotaConfigError } from '../shared/errors.js'
import type { WindowSpec } from '../store/quota-store.js'
import { chargeFunctions } from './charge.js'
import { fail } from './config-check.js'
import { scaledLimit } from './limit-config.js'
import type { NormalizedPolicy, PolicyUnit } from './normalized-policy.js'
import { normalizeCount, normalizeIdentifier, normalizeUnidentified, normalizeUnpriced } from './policy-fields.js'
import type { UnidentifiedPolicy } from './policy-types.js'
import { normalizeResourceSelector } from './resource.js'

/** The fields a balance policy may have: a balance has no window, no allowance, no thresholds of its own. */
const balanceFields = new Set(['name', 'type', 'identifier', 'unidentified', 'count', 'models', 'tools', 'lowAt', 'unpriced'])

const balanceWindow: WindowSpec = Object.freeze({ kind: 'balance' })

/** Validates a `type: 'balance'` policy (its name already checked) and compiles it. Throws `QuotaConfigError` naming the policy and field. */
export function normalizeBalancePolicy(name: string, raw: Record<string, unknown>, defaults: { unidentified: UnidentifiedPolicy }): NormalizedPolicy {
  for (const key of Object.keys(raw)) {
    if (!balanceFields.has(key))
      throw new QuotaConfigError({
        code: 'InvalidConfiguration',
        policy: name,
        field: key,
        message: `\`${key}\` does not apply to a \`type: 'balance'\` policy: its capacity is its credit grants, it has no window (known: ${[...balanceFields].join(', ')})`,
      })
  }
  const resource = normalizeResourceSelector(name, raw.models, raw.tools)
  const count = normalizeCount(name, raw.count ?? (resource.kind === 'tool' ? 'requests' : 'total'))
  if (resource.kind === 'tool' && count === 'usd')
    fail('InvalidConfiguration', name, 'count', "not `'usd'` on a policy of `tools` (a tool call has no model to price)", count)
  const unit: PolicyUnit = count === 'usd' ? 'usd' : count === 'requests' ? 'requests' : 'tokens'
  const scale = unit === 'usd' ? moneyUnitsPerDollar : 1
  const unpriced = normalizeUnpriced(name, raw.unpriced, unit)
  return Object.freeze({
    name,
    sharedName: name,
    counterName: unit === 'usd' ? moneyCounterName(name) : name,
    type: 'balance',
    interval: undefined,
    timeUnit: undefined,
    startTime: undefined,
    timeZone: undefined,
    anchor: undefined,
    rollover: undefined,
    mode: 'enforce',
    enforces: true,
    counts: true,
    allow: 0,
    identifier: normalizeIdentifier(name, raw.identifier),
    unidentified: normalizeUnidentified(name, raw.unidentified ?? defaults.unidentified, 'unidentified'),
    count,
    resource,
    thresholds: [],
    maxTokensPerRequest: undefined,
    window: () => balanceWindow,
    unit,
    scale,
    unpriced,
    spillTo: undefined,
    lowAt: normalizeLowAt(name, raw.lowAt, scale),
    ...chargeFunctions(count, unpriced),
  })
}

function normalizeLowAt(name: string, value: unknown, scale: number): number | undefined {
  if (value === undefined) return undefined
  const level = scaledLimit(value, scale)
  if (level === undefined) fail('InvalidConfiguration', name, 'lowAt', scale === 1 ? 'a non-negative integer' : 'a non-negative number of US dollars', value)
  return level
}
