import { Command, Option } from 'commander'
import { check } from './commands/check.js'
import { clear, grant, setAllow } from './commands/overrides.js'
import { report } from './commands/report.js'
import { reset } from './commands/reset.js'
import { status } from './commands/status.js'
import { watch } from './commands/watch.js'
import { collect } from './context.js'
import { failureOf, StoreUnreachableError } from './cli-error.js'
import { printable } from './printable.js'
import { scrub } from './secrets.js'

/** Store and config options every command that reads the app's counters takes. */
function withStore(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--redis-url <url>',
        'the Redis the app counts in (default: $REDIS_URL, else Upstash from $UPSTASH_REDIS_REST_URL and $UPSTASH_REDIS_REST_TOKEN)',
      ),
    )
    .option('--prefix <prefix>', "the stores' key prefix", 'tokenquota')
    .option('--timeout <seconds>', 'give up when the store does not answer within this many seconds (exit code 1)', '10')
}

function withPolicies(command: Command): Command {
  return withStore(command).option(
    '--config <file>',
    'the policies: the token_limits.yaml (or .json) the app loads (default: $TOKENQUOTA_CONFIG, else ./token_limits.yaml)',
  )
}

function withCaller(command: Command): Command {
  return command
    .option('--user <id>', 'the user')
    .option('--org <id>', 'the organization')
    .option('--project <id>', 'the project')
    .option('--plan <name>', 'the plan (for class-based limits)')
    .option('--context <key=value>', 'another context key (repeatable)', collect)
}

/** `--idempotency-key`: a re-run after a timeout applies nothing twice. */
function withIdempotencyKey(command: Command): Command {
  return command.option(
    '--idempotency-key <key>',
    'names this change: run again with the same key within 24 h, it is not applied again (each policy it changes gets <key>:<policy>)',
  )
}

function withOverride(command: Command): Command {
  return withIdempotencyKey(withCaller(withPolicies(command)))
    .option('--policy <name>', "one policy (default: the caller's own enforcing policies, if they count one unit)")
    .option('--class <name>', 'every identifier of this class (with --policy), instead of one caller')
    .option('--yes', 'confirm a set or clear over several counters')
    .option('--until <when>', 'when it ends: a date (2026-12-01), a date-time, or a duration (2h, 7d)')
    .option('--reason <text>', 'why, for the audit log')
    .option('--operator <name>', 'who, for the audit log (default: $USER)')
}

/** Runs a command's action; a failure prints one line to stderr and sets the exit code. */
function run<Args extends unknown[]>(action: (...args: Args) => Promise<void>, afterword?: (error: unknown) => string): (...args: Args) => Promise<void> {
  return async (...args) => {
    try {
      await action(...args)
    } catch (error) {
      const { message, exitCode } = failureOf(error)
      process.stderr.write(`tokenquota: ${printable(scrub(message + (afterword?.(error) ?? '')))}\n`)
      process.exitCode = exitCode
    }
  }
}

/** `run` for a command that writes: a store that stopped answering once reached may have applied the change. */
function runWrite<Flags extends { readonly idempotencyKey?: string }>(action: (flags: Flags) => Promise<void>): (flags: Flags) => Promise<void> {
  return (flags) =>
    run(action, (error) => {
      if (failureOf(error).exitCode !== 1 || error instanceof StoreUnreachableError) return ''
      const key = flags.idempotencyKey
      return key === undefined
        ? '; the change may or may not have been applied: check with tokenquota status before running it again (with --idempotency-key, a re-run applies nothing twice)'
        : `; the change may or may not have been applied: run the same command again with the same --idempotency-key ${key}`
    })(flags)
}

/** The `tokenquota` command line. */
export function program(): Command {
  const cli = new Command('tokenquota').description('Per-user LLM token quotas, from a terminal next to production.').showHelpAfterError()
  cli.addHelpText('after', '\nExit codes: 0 done; 1 the store did not answer (refused, or silent past --timeout); 2 a bad flag, URL, config or identifier.')

  withCaller(withPolicies(cli.command('status').description("a caller's windows: used, reserved, limit in force, reset, overrides, last refusal")))
    .option('--json', 'JSON for scripts')
    .action(run((flags) => status(flags)))

  withIdempotencyKey(
    withCaller(withPolicies(cli.command('reset').description("zero a caller's usage in the current window (reservations in flight keep holding)"))),
  )
    .option('--policy <name>', "one policy (default: the caller's own counters with usage, never one shared with others)")
    .option('--yes', 'confirm a reset of several counters')
    .option('--reason <text>', 'why, for the audit log')
    .option('--operator <name>', 'who, for the audit log (default: $USER)')
    .action(runWrite((flags) => reset(flags)))

  withOverride(cli.command('grant').description('add tokens (or dollars) to a limit, for a while'))
    .requiredOption('--add <amount>', 'how much to add, in the policy unit')
    .action(runWrite((flags) => grant(flags)))

  withOverride(cli.command('set').description("replace a policy's limit for a caller or a class"))
    .requiredOption('--allow <amount>', 'the limit in force, in the policy unit')
    .action(runWrite((flags) => setAllow(flags)))

  withOverride(cli.command('clear').description('remove the overrides and grants of a caller or a class')).action(runWrite((flags) => clear(flags)))

  withStore(cli.command('report').description('top consumers, burn rate and projection (from the usage the app tracks with trackUsage on Redis)'))
    .option('--since <days>', 'how far back, in days (e.g. 7d)', '7d')
    .option('--by <dimension>', 'user, model, project, org or tag', 'user')
    .option('--top <n>', 'how many consumers', '10')
    .option('--json', 'JSON for scripts')
    .action(run((flags) => report(flags)))

  cli
    .command('check')
    .description('validate a config file and print the policies it makes')
    .argument('<file>', 'token_limits.yaml or a .json config')
    .option('--json', 'JSON for scripts')
    .action(run((file: string, flags: { json?: boolean }) => check(file, flags)))

  withCaller(withPolicies(cli.command('watch').description("a live table of today's heaviest users")))
    .option('--interval <seconds>', 'refresh every this many seconds', '2')
    .option('--top <n>', 'how many users', '20')
    .option('--count <n>', 'stop after this many refreshes')
    .action(run((flags) => watch(flags)))

  return cli
}
