import type { QuotaContext } from '@tokenquota/core'
import { CliError } from './cli-error.js'
import { printable } from './printable.js'

export interface ContextFlags {
  readonly user?: string
  readonly org?: string
  readonly project?: string
  readonly plan?: string
  /** `key=value` pairs for other context keys (e.g. a tier). */
  readonly context?: readonly string[]
}

/** The caller the flags name, as the app's context would (`{ user, org, project, plan, … }`). */
export function contextOf(flags: ContextFlags): QuotaContext {
  const context: Record<string, string> = {}
  for (const key of ['user', 'org', 'project', 'plan'] as const) {
    const value = flags[key]
    if (value !== undefined) context[key] = value
  }
  for (const pair of flags.context ?? []) {
    const at = pair.indexOf('=')
    if (at <= 0) throw new CliError(`expected --context key=value, got "${pair}"`)
    context[pair.slice(0, at)] = pair.slice(at + 1)
  }
  return context
}

/** How the flags name the caller, for messages: `user alice, org acme` (control characters escaped). */
export function describeContext(context: QuotaContext): string {
  return Object.entries(context)
    .map(([key, value]) => `${printable(key)} ${printable(String(value))}`)
    .join(', ')
}

const namedFlags = new Set(['user', 'org', 'project', 'plan'])

/** The flag that sets a context key: `--plan`, or `--context tier` for the others. */
export function flagOf(key: string, value?: string): string {
  const shown = value === undefined ? '' : printable(value)
  if (namedFlags.has(key)) return value === undefined ? `--${key}` : `--${key} ${shown}`
  return value === undefined ? `--context ${printable(key)}=…` : `--context ${printable(key)}=${shown}`
}

/** Collects a repeatable option's values. */
export function collect(value: string, previous: readonly string[] = []): string[] {
  return [...previous, value]
}
