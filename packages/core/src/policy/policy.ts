import { QuotaConfigError } from '../shared/errors.js'
import { moneyCounterName, moneyUnitsPerDollar } from '../price/price-table.js'
import type { QuotaPolicy, UnidentifiedPolicy } from './policy-types.js'
import type { QuotaMode } from '../shared/types.js'
import { chargeFunctions } from './charge.js'
import type { NormalizedPolicy, PolicyUnit } from './normalized-policy.js'
import { fail, isPlainObject, namePattern } from './config-check.js'
import { normalizeBalancePolicy } from './balance-policy.js'
import { normalizeAllow, normalizeMaxTokens } from './limit-config.js'
import { normalizeCount, normalizeIdentifier, normalizeThresholds, normalizeUnidentified, normalizeUnpriced } from './policy-fields.js'
import { normalizeResourceSelector } from './resource.js'
import { normalizeRollover } from './rollover.js'
import { normalizeWindow } from './window-config.js'
import { windowFunction } from './window-factory.js'

const modes: readonly QuotaMode[] = ['enforce', 'count-only', 'enforce-only']
const policyFields = new Set([
  'name',
  'type',
  'interval',
  'timeUnit',
  'startTime',
  'timeZone',
  'anchor',
  'rollover',
  'allow',
  'identifier',
  'unidentified',
  'count',
  'models',
  'tools',
  'mode',
  'sharedName',
  'thresholds',
  'maxTokensPerRequest',
  'unpriced',
  'spillTo',
])

/** Validates one policy and compiles it. Throws `QuotaConfigError` naming the policy and field. */
export function normalizePolicy(config: QuotaPolicy, defaults: { unidentified: UnidentifiedPolicy }): NormalizedPolicy {
  if (!isPlainObject(config)) fail('InvalidConfiguration', undefined, 'policies[]', 'a policy object', config)
  const raw = config as unknown as Record<string, unknown>
  if (raw.type === 'balance') return normalizeBalancePolicy(policyName(raw, true), raw, defaults)
  const name = policyName(raw)
  const windowConfig = normalizeWindow(name, raw)
  const mode = normalizeMode(name, raw.mode ?? 'enforce')
  const sharedName = normalizeSharedName(name, raw.sharedName)
  const resource = normalizeResourceSelector(name, raw.models, raw.tools)
  const count = normalizeCount(name, raw.count ?? (resource.kind === 'tool' ? 'requests' : 'total'))
  if (resource.kind === 'tool' && count === 'usd')
    fail('InvalidConfiguration', name, 'count', "not `'usd'` on a policy of `tools` (a tool call has no model to price)", count)
  const unit: PolicyUnit = count === 'usd' ? 'usd' : count === 'requests' ? 'requests' : 'tokens'
  const scale = unit === 'usd' ? moneyUnitsPerDollar : 1
  const unpriced = normalizeUnpriced(name, raw.unpriced, unit)
  if (unit === 'usd' && raw.maxTokensPerRequest !== undefined) {
    fail(
      'InvalidConfiguration',
      name,
      'maxTokensPerRequest',
      "absent on a `count: 'usd'` policy (cap tokens with a token policy beside it)",
      raw.maxTokensPerRequest,
    )
  }
  return Object.freeze({
    name,
    sharedName,
    counterName: unit === 'usd' ? moneyCounterName(sharedName) : sharedName,
    ...windowConfig,
    mode,
    enforces: mode !== 'count-only',
    counts: mode !== 'enforce-only',
    allow: normalizeAllow(name, raw.allow, scale),
    identifier: normalizeIdentifier(name, raw.identifier),
    unidentified: normalizeUnidentified(name, raw.unidentified ?? defaults.unidentified, 'unidentified'),
    count,
    resource,
    thresholds: normalizeThresholds(name, raw.thresholds ?? []),
    maxTokensPerRequest: normalizeMaxTokens(name, raw.maxTokensPerRequest),
    window: windowFunction(windowConfig),
    rollover: normalizeRollover(name, raw.rollover, windowConfig.anchor !== undefined),
    unit,
    scale,
    unpriced,
    spillTo: normalizeSpillTo(name, raw.spillTo),
    lowAt: undefined,
    ...chargeFunctions(count, unpriced),
  })
}

/** The policy's name, checked, and (unless a balance's, checked apart) its fields known. */
function policyName(raw: Record<string, unknown>, balance = false): string {
  const name = raw.name
  if (typeof name !== 'string' || !namePattern.test(name)) {
    fail('InvalidConfiguration', typeof name === 'string' ? name : undefined, 'name', '1 to 128 letters, digits, `.`, `_`, `:` or `-`', name)
  }
  if (balance) return name
  for (const key of Object.keys(raw)) {
    if (!policyFields.has(key)) {
      throw new QuotaConfigError({
        code: 'InvalidConfiguration',
        policy: name,
        field: key,
        message: `Unknown field \`${key}\` (known: ${[...policyFields].join(', ')})`,
      })
    }
  }
  return name
}

function normalizeMode(name: string, mode: unknown): QuotaMode {
  if (!modes.includes(mode as QuotaMode)) fail('InvalidConfiguration', name, 'mode', `one of ${modes.join(', ')}`, mode)
  return mode as QuotaMode
}

/** The counter's name: `sharedName`, checked, or the policy's own. */
function normalizeSharedName(name: string, sharedName: unknown): string {
  if (sharedName === undefined) return name
  if (typeof sharedName !== 'string' || !namePattern.test(sharedName)) {
    fail('InvalidConfiguration', name, 'sharedName', '1 to 128 letters, digits, `.`, `_`, `:` or `-`', sharedName)
  }
  return sharedName
}

/** The balance policy a windowed one spills into: a name, checked against the others by `checkSpills`. */
function normalizeSpillTo(name: string, spillTo: unknown): string | undefined {
  if (spillTo === undefined) return undefined
  if (typeof spillTo !== 'string' || !namePattern.test(spillTo))
    fail('InvalidConfiguration', name, 'spillTo', "the name of a `type: 'balance'` policy", spillTo)
  return spillTo
}
