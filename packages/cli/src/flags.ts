import { type Command, Option } from 'commander'
import { collect } from './context.js'

/** The connection flags: every command that reaches the app's store takes them, alike. */
export function withStore(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--redis-url <url>',
        'the Redis the app counts in (default: $REDIS_URL, else Upstash from $UPSTASH_REDIS_REST_URL and $UPSTASH_REDIS_REST_TOKEN)',
      ),
    )
    .option('--prefix <prefix>', "the stores' key prefix", 'tokenquota')
    .option('--hash-tag', "the app's store sets hashTag (Redis Cluster): keys live in the caller's shard (see --shard)")
    .option('--timeout <seconds>', 'give up when the store does not answer, or a --config module has not loaded, within this many seconds (exit code 1)', '10')
}

/** The connection flags and `--config`: every command but `check` takes them. */
export function withPolicies(command: Command): Command {
  return withStore(command).option(
    '--config <file>',
    'the policies: the token_limits.yaml (or .json) the app loads, or a .js/.mjs/.ts module exporting its policies or createTokenQuota options (default: $TOKENQUOTA_CONFIG, else ./token_limits.yaml)',
  )
}

/** The caller flags, and the shard its keys live in when the app shards them. */
export function withCaller(command: Command): Command {
  return command
    .option('--user <id>', 'the user')
    .option('--org <id>', 'the organization')
    .option('--project <id>', 'the project')
    .option('--plan <name>', 'the plan (for class-based limits)')
    .option('--context <key=value>', 'another context key (repeatable)', collect)
    .option(
      '--shard <value>',
      "with --hash-tag: the caller's shard, what the app's shardKey returns for it ('' for none; default: the --config module's shardKey)",
    )
}

/** `--idempotency-key`: a re-run after a timeout applies nothing twice. */
export function withIdempotencyKey(command: Command): Command {
  return command.option(
    '--idempotency-key <key>',
    'names this change: run again with the same key within 24 h, it is not applied again (each policy it changes gets <key>:<policy>)',
  )
}

/** The flags of `grant`, `set` and `clear`. */
export function withOverride(command: Command): Command {
  return withIdempotencyKey(withCaller(withPolicies(command)))
    .option('--policy <name>', "one policy (default: the caller's own enforcing policies, if they count one unit)")
    .option('--class <name>', 'every identifier of this class (with --policy), instead of one caller')
    .option('--yes', 'confirm a set or clear over several counters')
    .option('--until <when>', 'when it ends: a date (2026-12-01), a date-time, or a duration (2h, 7d)')
    .option('--reason <text>', 'why, for the audit log')
    .option('--operator <name>', 'who, for the audit log (default: $USER)')
}
