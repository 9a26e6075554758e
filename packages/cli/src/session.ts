import type { PolicyInspection, QuotaContext, TokenQuota } from '@tokenquota/core'
import { checkClasses } from './classes.js'
import { CliError } from './cli-error.js'
import { connect, type Connection, type StoreFlags } from './connect.js'
import { describeContext } from './context.js'
import { quotaOn } from './policies.js'

export interface SessionFlags extends StoreFlags {
  readonly config?: string
}

/** Connects, loads the app's policies, runs `work`, and disconnects whatever happens. */
export async function withQuota<T>(flags: SessionFlags, work: (quota: TokenQuota, connection: Connection) => Promise<T>): Promise<T> {
  const connection = await connect(flags)
  try {
    return await work(await quotaOn(connection.store, flags.config), connection)
  } finally {
    await connection.close()
  }
}

/** A caller is needed: at least one of the context flags. */
export function requireCaller(context: QuotaContext): void {
  if (Object.keys(context).length === 0) throw new CliError('name a caller: --user, --org, --project or --context key=value')
}

/** The counters of a caller the store has seen; a caller no policy counts, or the store never saw, is an error. */
export async function inspectKnown(quota: TokenQuota, context: QuotaContext): Promise<readonly PolicyInspection[]> {
  const rows = await inspectCaller(quota, context)
  const who = describeContext(context)
  if (rows.length === 0) {
    const keys = [...new Set(quota.policies.map((policy) => (typeof policy.identifier === 'string' ? policy.identifier : undefined)).filter(Boolean))]
    throw new CliError(`no policy counts ${who}: the policies count by ${keys.join(', ') || 'functions of the context'}`)
  }
  if (rows.every((row) => row.used === 0 && row.reserved === 0 && row.overrides.length === 0 && row.lastRefusal === undefined)) {
    throw new CliError(`unknown identifier: ${who} has no usage, reservation, override or refusal in the current windows`)
  }
  return rows
}

/** Every policy's window for a caller; a class the policies do not know (no `--plan`, or an unknown one) is an error naming the known ones. */
export async function inspectCaller(quota: TokenQuota, context: QuotaContext): Promise<readonly PolicyInspection[]> {
  const rows = await quota.admin.inspect(context)
  checkClasses(quota, rows, context)
  return rows
}

/** Prints JSON for scripts. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`)
}
