import type { QuotaContext } from '@tokenquota/core'
import { CliError } from './cli-error.js'
import { describeContext } from './context.js'

export interface ShardFlags {
  /** The app's store sets `hashTag`: every key carries its request's shard. */
  readonly hashTag?: boolean
  /** The caller's shard, as the app's `shardKey` returns it (`''`: none). */
  readonly shard?: string
}

/**
 * The `shardKey` the CLI names counters with, as the app does: none unless the app's keys carry
 * hash tags; then `--shard`, else the config module's `shardKey`. A caller whose shard neither
 * gives is an error (exit 2), never a read of (or a write to) the unsharded keys.
 */
export function shardKeyOf(
  flags: ShardFlags,
  appShardKey: ((context: QuotaContext) => string | undefined) | undefined,
): ((context: QuotaContext) => string | undefined) | undefined {
  if (!flags.hashTag) {
    if (flags.shard !== undefined) throw new CliError("--shard names a shard of hash-tagged keys: pass --hash-tag too (the app's store sets hashTag)")
    return undefined
  }
  const { shard } = flags
  if (shard !== undefined) return () => shard
  return (context) => {
    const found = appShardKey?.(context)
    if (found !== undefined) return found
    const who = Object.keys(context).length === 0 ? 'the shared counters' : describeContext(context)
    throw new CliError(
      appShardKey
        ? `the --config module's shardKey gives no shard for ${who}: pass the context it reads (e.g. --org), or --shard <value> (--shard '' for callers without one)`
        : `the app's keys are hash-tagged (--hash-tag): name the shard of ${who} with --shard <value>, what the app's shardKey returns for it (--shard '' for callers without one), or pass a --config module that exports the shardKey`,
    )
  }
}
