import { QuotaConfigError } from '../shared/errors.js'
import { compileModelGlobs } from '../shared/model-match.js'
import { moneyCounterName, moneyUnitsPerDollar } from '../price/price-table.js'
import type { QuotaPolicy, UnidentifiedPolicy } from './policy-types.js'
import type { QuotaMode } from '../shared/types.js'
import { chargeFunctions } from './charge.js'
import type { NormalizedPolicy, PolicyUnit } from './normalized-policy.js'
import { fail, isPlainObject, namePattern } from './config-check.js'
import { normalizeAllow, normalizeMaxTokens } from './limit-config.js'
import { normalizeCount, normalizeIdentifier, normalizeThresholds, normalizeUnidentified, normalizeUnpriced } from './policy-fields.js'
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
  'allow',
  'identifier',
  'unidentified',
  'count',
  'models',
  'mode',
  'sharedName',
  'thresholds',
  'maxTokensPerRequest',
  'unpriced',
])

/** Validates one policy and compiles it. Throws `QuotaConfigError` naming the policy and field. */
export function normalizePolicy(config: QuotaPolicy, defaults: { unidentified: UnidentifiedPolicy }): NormalizedPolicy {
  if (!isPlainObject(config)) fail('InvalidConfiguration', undefined, 'policies[]', 'a policy object', config)
  const raw = config as unknown as Record<string, unknown>
  const name = policyName(raw)
  const windowConfig = normalizeWindow(name, raw)
  const mode = normalizeMode(name, raw.mode ?? 'enforce')
  const sharedName = normalizeSharedName(name, raw.sharedName)
  const count = normalizeCount(name, raw.count ?? 'total')
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
  const models = normalizeModels(name, raw.models)
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
    matchesModel: models === undefined ? () => true : compileModelGlobs(models),
    hasModelFilter: models !== undefined,
    thresholds: normalizeThresholds(name, raw.thresholds ?? []),
    maxTokensPerRequest: normalizeMaxTokens(name, raw.maxTokensPerRequest),
    window: windowFunction(windowConfig),
    unit,
    scale,
    unpriced,
    ...chargeFunctions(count, unpriced),
  })
}

/** The policy's name, checked, and its fields known. */
function policyName(raw: Record<string, unknown>): string {
  const name = raw.name
  if (typeof name !== 'string' || !namePattern.test(name)) {
    fail('InvalidConfiguration', typeof name === 'string' ? name : undefined, 'name', '1 to 128 letters, digits, `.`, `_`, `:` or `-`', name)
  }
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

function normalizeModels(name: string, models: unknown): readonly string[] | undefined {
  if (models === undefined) return undefined
  if (!Array.isArray(models) || models.length === 0 || !models.every((glob) => typeof glob === 'string' && glob.length > 0)) {
    fail('InvalidConfiguration', name, 'models', 'a non-empty array of model-name globs', models)
  }
  return models as string[]
}
