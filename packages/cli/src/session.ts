import type { PolicyInspection, QuotaContext, TokenQuota } from '@tokenquota/core'
import { terminal } from './terminal.js'
import { checkClasses } from './classes.js'
import { CliError } from './cli-error.js'
import { connect, type Connection, type StoreFlags } from './connect.js'
import { quotaOn } from './policies.js'
import type { ShardFlags } from './shard.js'

export interface SessionFlags extends StoreFlags, ShardFlags {
  readonly config?: string
}

/** Connects, loads the app's policies, runs `work`, and disconnects whatever happens. */
export async function withQuota<T>(flags: SessionFlags, work: (quota: TokenQuota, connection: Connection) => Promise<T>): Promise<T> {
  const connection = await connect(flags)
  try {
    return await work(await quotaOn(connection.store, flags), connection)
  } finally {
    await connection.close()
  }
}

/** A caller is needed: at least one of the context flags. */
export function requireCaller(context: QuotaContext): void {
  if (Object.keys(context).length === 0) throw new CliError('name a caller: --user, --org, --project or --context key=value')
}

/** Every policy's window for a caller; a class the policies do not know (no `--plan`, or an unknown one) is an error naming the known ones. */
export async function inspectCaller(quota: TokenQuota, context: QuotaContext): Promise<readonly PolicyInspection[]> {
  const rows = await quota.admin.inspect(context)
  checkClasses(quota, rows, context)
  return rows
}

/** JSON for scripts, with a newline; the control characters `JSON.stringify` leaves raw (DEL, C1, U+2028/9) are escaped too. */
export function jsonOf(value: unknown): string {
  const text = JSON.stringify(value, null, 2).replace(/[\u007f-\u009f\u2028\u2029]/gu, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`)
  return `${text}\n`
}

/** Prints {@link jsonOf} `value`. */
export function printJson(value: unknown): void {
  terminal().out(jsonOf(value))
}
