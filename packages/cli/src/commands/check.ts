import { createTokenQuota, type TokenQuota } from '@tokenquota/core'
import { terminal } from '../terminal.js'
import { loadPolicies } from '../policies.js'
import { printJson } from '../session.js'
import { amount, table } from '../table.js'

type Policy = TokenQuota['policies'][number]

/** `tokenquota check token_limits.yaml` (or a policies module): validates a config and prints the policies it makes. */
export async function check(path: string, flags: { readonly json?: boolean }): Promise<void> {
  const loaded = await loadPolicies(path) // validates: a broken file throws QuotaConfigError (exit code 2)
  const config = { ...loaded, alerts: loaded.alerts ?? [] }
  const { policies } = createTokenQuota({ policies: config.policies, prices: [] })
  const rows = policies.map((policy) => ({
    name: policy.name,
    identifier: identifierOf(policy),
    allow: allowOf(policy),
    window: windowOf(policy),
    mode: policy.mode,
    unit: policy.unit,
    for: selectionOf(policy),
  }))
  if (flags.json) return printJson({ file: path, policies: rows, alerts: config.alerts })
  terminal().out(`${path}: valid, ${rows.length} ${rows.length === 1 ? 'policy' : 'policies'}\n\n`)
  terminal().out(
    `${table(
      ['POLICY', 'IDENTIFIER', 'ALLOW', 'WINDOW', 'MODE', 'UNIT', 'FOR'],
      rows.map((row) => [row.name, row.identifier, row.allow, row.window, row.mode, row.unit, selectionText(row.for)]),
    )}\n`,
  )
  if (config.alerts.length > 0) {
    terminal().out(
      `\nalerts: ${config.alerts.map((alert) => `${alert.threshold * 100}% ${alert.action}${alert.fallback ? ` (fallback ${alert.fallback})` : ''}`).join(', ')}\n`,
    )
  }
}

function identifierOf(policy: Policy): string {
  if (policy.identifier === undefined) return '(shared)'
  return typeof policy.identifier === 'string' ? policy.identifier : '(function)'
}

/**
 * `1 day (default)`; a billing cycle says where each caller's anchor comes from: `1 month from
 * subscribedAt, Asia/Tokyo`; then the balance it spills into (`, then credits`). A balance has none.
 */
function windowOf(policy: Policy): string {
  if (policy.type === 'balance') return 'none (balance)'
  const length = `${policy.interval} ${policy.timeUnit}${policy.interval === 1 ? '' : 's'}`
  const spill = policy.spillTo === undefined ? '' : `, then ${policy.spillTo}`
  if (policy.anchor === undefined) return `${length} (${policy.type})${spill}`
  const from = typeof policy.anchor === 'string' ? policy.anchor : 'anchor()'
  return `${length} from ${from}${policy.timeZone === undefined ? '' : `, ${policy.timeZone}`}${spill}`
}

function allowOf(policy: Policy): string {
  if (policy.type === 'balance') return '(prepaid)'
  const { allow, scale, unit } = policy
  const shown = (value: number) => amount(value / scale, unit)
  if (typeof allow === 'number') return shown(allow)
  if (typeof allow === 'function') return '(function of the context)'
  return [...allow.counts].map(([name, value]) => `${name || '(none)'}: ${shown(value)}`).join(', ')
}

type Selection = { readonly models: readonly string[] | '*' } | { readonly tools: readonly string[] }

/** The requests a policy applies to: its `tools`, its `models`, or every model call (`'*'`). */
function selectionOf(policy: Policy): Selection {
  const { kind, globs } = policy.resource
  return kind === 'tool' ? { tools: globs ?? [] } : { models: globs ?? '*' }
}

function selectionText(selection: Selection): string {
  if ('tools' in selection) return `tools ${selection.tools.join(', ')}`
  return selection.models === '*' ? 'every model' : `models ${selection.models.join(', ')}`
}
