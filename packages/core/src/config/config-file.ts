import { readFile } from 'node:fs/promises'
import { extname } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { QuotaConfigError } from '../shared/errors.js'
import { showValue } from '../shared/show-value.js'
import { normalizePolicies } from '../policy/policy-set.js'
import { moneyUnitsPerDollar } from '../price/price-table.js'
import type { QuotaPolicy, QuotaThreshold } from '../policy/policy-types.js'
import type { QuotaContext } from '../shared/types.js'
import { isObject, type Json } from '../shared/json.js'

/** An alert of the `alerts:` list, as written in the file. */
export interface QuotaAlert {
  readonly threshold: number
  readonly action: 'warn' | 'throttle' | 'block'
  readonly channels?: readonly string[]
  /** `throttle`: how much slower throttled calls go (0.5 = half speed). */
  readonly reduction?: number
  /** `block`: what the app should answer instead of an error (e.g. `cache`); for the adapters' `fallback`. */
  readonly fallback?: string
}

/** What a config file describes: pass `policies` to `createTokenQuota`. */
export interface QuotaConfig {
  readonly policies: readonly QuotaPolicy[]
  readonly alerts: readonly QuotaAlert[]
}

function invalid(field: string, expected: string, value: unknown): never {
  throw new QuotaConfigError({
    code: 'InvalidConfiguration',
    field,
    message: `Expected \`${field}\` to be ${expected}, got \`${showValue(value)}\``,
  })
}

function objectAt(value: unknown, field: string, known: readonly string[]): Json {
  if (!isObject(value)) invalid(field, 'a mapping', value)
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new QuotaConfigError({ code: 'InvalidConfiguration', field: `${field}.${key}`, message: `Unknown field \`${key}\` (known: ${known.join(', ')})` })
    }
  }
  return value
}

function countAt(value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) invalid(field, 'a non-negative integer', value)
  return value
}

function dollarsAt(value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) invalid(field, 'a non-negative number of US dollars', value)
  return value
}

function entriesAt(value: unknown, field: string): Array<[string, Json]> {
  if (value === undefined) return []
  if (!isObject(value)) invalid(field, 'a mapping of name → limits', value)
  return Object.entries(value).map(([name, entry]) => [name, objectAt(entry, `${field}.${name}`, tierFields)])
}

/** What share of the organization's budget each priority may use, unless `organization.priority_shares` says otherwise. */
export const defaultPriorityShares: Readonly<Record<string, number>> = { high: 1, low: 0.8 }

/**
 * The share of the organization's budgets a request may use, by its project's `priority`: low
 * priority is refused at 80 % (by default) so that high priority keeps the rest. A request without
 * a project, or whose project sets no priority, may use it all. `undefined` when no project has one.
 */
function priorityShare(projects: Array<[string, Json]>, sharesValue: unknown): ((context: QuotaContext) => number) | undefined {
  const shares = sharesValue === undefined ? defaultPriorityShares : objectAt(sharesValue, 'organization.priority_shares', Object.keys(sharesValue as Json))
  for (const [priority, share] of Object.entries(shares)) {
    if (typeof share !== 'number' || !(share > 0 && share <= 1)) invalid(`organization.priority_shares.${priority}`, 'a fraction in (0, 1]', share)
  }
  const byProject = new Map<string, number>()
  for (const [name, project] of projects) {
    if (project.priority === undefined) continue
    const share = typeof project.priority === 'string' ? (shares as Record<string, number>)[project.priority] : undefined
    if (share === undefined) invalid(`projects.${name}.priority`, `one of ${Object.keys(shares).join(', ')}`, project.priority)
    byProject.set(name, share)
  }
  if (byProject.size === 0) return undefined
  return (context) => (typeof context.project === 'string' ? byProject.get(context.project) : undefined) ?? 1
}

const tierFields = ['daily_limit', 'monthly_limit', 'request_limit', 'rate_limit', 'priority', 'daily_budget_usd', 'monthly_budget_usd'] as const

/** Builds `{ class, counts }` from one numeric field of every tier, or nothing when no tier sets it. */
function classTable(tiers: Array<[string, Json]>, field: string, classOf: (name: string) => string, path: string) {
  const counts: Record<string, number> = {}
  const read = field.endsWith('_usd') ? dollarsAt : countAt
  for (const [name, tier] of tiers) {
    const value = read(tier[field], `${path}.${name}.${field}`)
    if (value !== undefined) counts[classOf(name)] = value
  }
  return Object.keys(counts).length > 0 ? counts : undefined
}

/**
 * `billing_cycle: { anchor, time_zone }`: the users' monthly limits and budgets run from each
 * user's anchor (a context key, e.g. `subscribedAt`) in the zone, and a plan change keeps the
 * cycle's usage (one counter for every plan). Without it: calendar months, a counter per plan.
 */
function billingCycle(value: unknown) {
  if (value === undefined) return { window: {}, allow: (counts: Record<string, number>) => ({ class: 'plan', counts }) }
  const cycle = objectAt(value, 'billing_cycle', ['anchor', 'time_zone'])
  if (typeof cycle.anchor !== 'string' || cycle.anchor === '') invalid('billing_cycle.anchor', 'the context key of each user’s anchor date', cycle.anchor)
  if (cycle.time_zone !== undefined && typeof cycle.time_zone !== 'string') invalid('billing_cycle.time_zone', 'an IANA time zone', cycle.time_zone)
  const window = { anchor: cycle.anchor, ...(cycle.time_zone !== undefined && { timeZone: cycle.time_zone as string }) }
  return { window, allow: (counts: Record<string, number>) => ({ class: 'plan', counts, shareCounter: true }) }
}

function parseAlerts(value: unknown): QuotaAlert[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) invalid('alerts', 'a list', value)
  return value.map((raw, index) => {
    const field = `alerts[${index}]`
    const alert = objectAt(raw, field, ['threshold', 'action', 'channels', 'reduction', 'fallback'])
    const { threshold, action, channels, reduction, fallback } = alert
    if (typeof threshold !== 'number' || !(threshold > 0 && threshold <= 1)) invalid(`${field}.threshold`, 'a fraction in (0, 1]', threshold)
    if (action !== 'warn' && action !== 'throttle' && action !== 'block') invalid(`${field}.action`, 'warn, throttle or block', action)
    if (action === 'block' && threshold !== 1) invalid(`${field}.threshold`, '1 for a `block` alert (the hard limit)', threshold)
    if (action !== 'block' && threshold === 1) invalid(`${field}.action`, '`block` at threshold 1 (the hard limit always blocks)', action)
    if (channels !== undefined && (!Array.isArray(channels) || !channels.every((channel) => typeof channel === 'string')))
      invalid(`${field}.channels`, 'a list of strings', channels)
    if (reduction !== undefined && (typeof reduction !== 'number' || !(reduction > 0 && reduction < 1)))
      invalid(`${field}.reduction`, 'a fraction in (0, 1)', reduction)
    if (reduction !== undefined && action !== 'throttle') invalid(`${field}.reduction`, 'absent unless the action is `throttle`', reduction)
    if (fallback !== undefined && typeof fallback !== 'string') invalid(`${field}.fallback`, 'a string', fallback)
    return alert as unknown as QuotaAlert
  })
}

/** `organization` budgets (tokens and dollars): one shared counter each, shared by priority when projects have one. */
function organizationPolicies(document: Json, projects: Array<[string, Json]>, soft: { thresholds?: QuotaThreshold[] }): QuotaPolicy[] {
  if (document.organization === undefined) {
    if (projects.some(([, project]) => project.priority !== undefined)) {
      invalid('projects', 'an `organization` budget for the projects’ `priority` to share', document.projects)
    }
    return []
  }
  const policies: QuotaPolicy[] = []
  const organization = objectAt(document.organization, 'organization', [
    'monthly_budget',
    'daily_cap',
    'monthly_budget_usd',
    'daily_cap_usd',
    'priority_shares',
  ])
  const share = priorityShare(projects, organization.priority_shares)
  const monthly = countAt(organization.monthly_budget, 'organization.monthly_budget')
  const daily = countAt(organization.daily_cap, 'organization.daily_cap')
  const monthlyUsd = dollarsAt(organization.monthly_budget_usd, 'organization.monthly_budget_usd')
  const dailyUsd = dollarsAt(organization.daily_cap_usd, 'organization.daily_cap_usd')
  const tokens = (budget: number) => (share ? (context: QuotaContext) => Math.floor(budget * share(context)) : budget)
  const dollars = (budget: number) =>
    share ? (context: QuotaContext) => Math.floor(budget * share(context) * moneyUnitsPerDollar) / moneyUnitsPerDollar : budget
  if (monthly !== undefined) policies.push({ name: 'organization-monthly', allow: tokens(monthly), interval: 1, timeUnit: 'month', ...soft })
  if (daily !== undefined) policies.push({ name: 'organization-daily', allow: tokens(daily), interval: 1, timeUnit: 'day', ...soft })
  const usd = { count: 'usd', ...soft } as const
  if (monthlyUsd !== undefined) policies.push({ name: 'organization-monthly-usd', allow: dollars(monthlyUsd), interval: 1, timeUnit: 'month', ...usd })
  if (dailyUsd !== undefined) policies.push({ name: 'organization-daily-usd', allow: dollars(dailyUsd), interval: 1, timeUnit: 'day', ...usd })
  return policies
}

/**
 * Turns the strategy note's `token_limits.yaml` tiers into policies:
 * - `organization.monthly_budget` / `daily_cap` → `organization-monthly` / `organization-daily` (one shared counter);
 *   `monthly_budget_usd` / `daily_cap_usd` → `organization-monthly-usd` / `organization-daily-usd` (US dollars, `count: 'usd'`);
 * - `projects.<name>.daily_limit` → `project-daily` (identifier and class: `project`; unknown projects are refused),
 *   `request_limit` → that policy's `maxTokensPerRequest`;
 * - `users.tier_<plan>.daily_limit` → `user-daily` (identifier `user`, class `plan`), `monthly_limit` → `user-monthly`,
 *   `rate_limit` (requests per minute) → `user-requests-per-minute` (a rolling minute counting requests),
 *   `daily_budget_usd` / `monthly_budget_usd` → `user-daily-usd` / `user-monthly-usd` (US dollars);
 * - `billing_cycle: { anchor, time_zone }` makes `user-monthly` and `user-monthly-usd` billing cycles from each user's anchor;
 * - `alerts` below 1 become soft thresholds on every token policy; a `throttle` alert paces a user's
 *   calls to `rate_limit × (1 − reduction)` per minute (one call per second without a rate).
 */
function tiersToPolicies(document: Json, alerts: readonly QuotaAlert[]): QuotaPolicy[] {
  const policies: QuotaPolicy[] = []
  const users = entriesAt(document.users, 'users')
  const planOf = (tier: string) => tier.replace(/^tier_/, '')
  const rates = classTable(users, 'rate_limit', planOf, 'users')

  const thresholds: QuotaThreshold[] = alerts
    .filter((alert) => alert.action !== 'block')
    .map((alert) => {
      if (alert.action === 'warn') return { at: alert.threshold, action: 'warn', ...(alert.channels && { channels: alert.channels }) }
      const speed = 1 - (alert.reduction ?? 0.5)
      const minIntervalMs = (context: QuotaContext) => {
        const rate = rates && typeof context.plan === 'string' ? rates[context.plan] : undefined
        return rate ? 60_000 / (rate * speed) : 1000 / speed
      }
      return { at: alert.threshold, action: 'throttle', minIntervalMs, ...(alert.channels && { channels: alert.channels }) }
    })
  const soft = thresholds.length > 0 ? { thresholds } : {}

  const projects = entriesAt(document.projects, 'projects')
  policies.push(...organizationPolicies(document, projects, soft))

  const projectDaily = classTable(projects, 'daily_limit', (name) => name, 'projects')
  const requestCaps = classTable(projects, 'request_limit', (name) => name, 'projects')
  if (projectDaily) {
    policies.push({
      name: 'project-daily',
      identifier: 'project',
      allow: { class: 'project', counts: projectDaily },
      interval: 1,
      timeUnit: 'day',
      ...soft,
      ...(requestCaps && {
        maxTokensPerRequest: { limit: (context: QuotaContext) => (typeof context.project === 'string' ? requestCaps[context.project] : undefined) },
      }),
    })
  } else if (requestCaps) {
    invalid('projects', 'a `daily_limit` next to every `request_limit`', requestCaps)
  }

  const cycle = billingCycle(document.billing_cycle)
  const userDaily = classTable(users, 'daily_limit', planOf, 'users')
  const userMonthly = classTable(users, 'monthly_limit', planOf, 'users')
  if (userDaily) policies.push({ name: 'user-daily', identifier: 'user', allow: { class: 'plan', counts: userDaily }, interval: 1, timeUnit: 'day', ...soft })
  if (userMonthly)
    policies.push({ name: 'user-monthly', identifier: 'user', allow: cycle.allow(userMonthly), interval: 1, timeUnit: 'month', ...cycle.window, ...soft })
  for (const [field, name, timeUnit] of [
    ['daily_budget_usd', 'user-daily-usd', 'day'],
    ['monthly_budget_usd', 'user-monthly-usd', 'month'],
  ] as const) {
    const budgets = classTable(users, field, planOf, 'users')
    if (!budgets) continue
    const cycled = timeUnit === 'month' ? { allow: cycle.allow(budgets), ...cycle.window } : { allow: { class: 'plan', counts: budgets } }
    policies.push({ name, identifier: 'user', count: 'usd', interval: 1, timeUnit, ...cycled, ...soft })
  }
  if (rates) {
    policies.push({
      name: 'user-requests-per-minute',
      type: 'rollingwindow',
      identifier: 'user',
      count: 'requests',
      allow: { class: 'plan', counts: rates },
      interval: 1,
      timeUnit: 'minute',
    })
  }
  return policies
}

/**
 * Parses and validates a quota configuration document (already read). Accepts the strategy note's
 * `token_limits.yaml` shape (`organization`, `projects`, `users`, `alerts`) and/or a `policies:` list
 * written like code (static values only). Throws `QuotaConfigError` naming the policy or field.
 */
export function parseQuotaConfig(text: string, format: 'yaml' | 'json'): QuotaConfig {
  let document: unknown
  try {
    // JSON.parse refuses the byte order mark an editor may save first; the YAML parser skips it.
    document = format === 'json' ? JSON.parse(text.replace(/^\uFEFF/, '')) : parseYaml(text)
  } catch (error) {
    throw new QuotaConfigError({
      code: 'InvalidConfiguration',
      // The YAML parser's message goes on with a code frame: the first line says where.
      message: `The ${format.toUpperCase()} does not parse: ${(error as Error).message.split('\n')[0]!.replace(/:$/, '')}`,
      cause: error,
    })
  }
  const root = objectAt(document ?? {}, '(root)', ['organization', 'projects', 'users', 'alerts', 'billing_cycle', 'policies'])
  const alerts = parseAlerts(root.alerts)
  const policies: QuotaPolicy[] = tiersToPolicies(root, alerts)
  if (root.policies !== undefined) {
    if (!Array.isArray(root.policies)) invalid('policies', 'a list of policies', root.policies)
    policies.push(...(root.policies as QuotaPolicy[]))
  }
  normalizePolicies(policies, { unidentified: 'refuse' })
  return { policies, alerts }
}

/**
 * Reads a quota configuration from a YAML (`.yaml`, `.yml`) or JSON (`.json`) file. See
 * {@link parseQuotaConfig} for the accepted shapes.
 *
 * @example
 * const { policies } = await loadQuotaConfig('token_limits.yaml')
 * const quota = createTokenQuota({ policies })
 */
export async function loadQuotaConfig(path: string): Promise<QuotaConfig> {
  const extension = extname(path).toLowerCase()
  if (!['.yaml', '.yml', '.json'].includes(extension)) {
    throw new QuotaConfigError({ code: 'InvalidConfiguration', message: `Expected a .yaml, .yml or .json file, got "${path}"` })
  }
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    throw new QuotaConfigError({ code: 'InvalidConfiguration', message: `Cannot read "${path}": ${(error as Error).message}`, cause: error })
  }
  return parseQuotaConfig(text, extension === '.json' ? 'json' : 'yaml')
}
