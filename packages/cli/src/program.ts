import { readFileSync } from 'node:fs'
import { Command, CommanderError } from 'commander'
import type { CreditsAddFlags } from './commands/credits.js'
import { CliError, exitCodes, StoreUnreachableError } from './cli-error.js'
import { withCaller, withIdempotencyKey, withOverride, withPolicies } from './flags.js'
import { printable } from './printable.js'
import { refuseEmptyIdentifiers } from './empty-identifiers.js'
import { refuseRepeatedFlags } from './repeated-flags.js'
import { scrub } from './secrets.js'
import { strictUsage } from './usage.js'
import { terminal } from './terminal.js'

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }

/** What a command threw, with what to add to its message. */
class Failure {
  constructor(
    readonly error: unknown,
    readonly afterword: string,
  ) {}
}

// What a command needs (core, the stores, the YAML parser) loads when it runs: --help, --version
// and a usage error load commander and the CLI's own modules only.
const commands = {
  check: () => import('./commands/check.js'),
  credits: () => import('./commands/credits.js'),
  overrides: () => import('./commands/overrides.js'),
  report: () => import('./commands/report.js'),
  reset: () => import('./commands/reset.js'),
  status: () => import('./commands/status.js'),
  watch: () => import('./commands/watch.js'),
}

/** Prints what failed as one line on stderr; returns the exit code. */
async function fail(error: unknown, afterword = ''): Promise<number> {
  // A CliError (a usage error too) carries both: core, which failureOf needs, is not loaded for it.
  const { message, exitCode } = error instanceof CliError ? error : (await import('./failure.js')).failureOf(error)
  terminal().err(`tokenquota: ${printable(scrub(message + afterword))}\n`)
  return exitCode
}

/** Runs a command's action; a failure reaches `run` with the words `afterword` adds to its line. */
function run<Args extends unknown[]>(
  action: (...args: Args) => Promise<void>,
  afterword?: (error: unknown) => Promise<string>,
): (...args: Args) => Promise<void> {
  return async (...args) => {
    try {
      await action(...args)
    } catch (error) {
      throw new Failure(error, (await afterword?.(error)) ?? '')
    }
  }
}

/**
 * `run` for a command that writes: a store that stopped answering once reached may have applied the
 * change. `keyOf` gives the command's idempotency key and its flag (`--idempotency-key`, or `credits add`'s `--key`).
 */
function runWrite<Flags>(
  action: (flags: Flags) => Promise<void>,
  keyOf: (flags: Flags) => { readonly flag: string; readonly key: string | undefined } = (flags) => ({
    flag: '--idempotency-key',
    key: (flags as { readonly idempotencyKey?: string }).idempotencyKey,
  }),
): (flags: Flags) => Promise<void> {
  return (flags) =>
    run(action, async (error) => {
      const { failureOf } = await import('./failure.js')
      if (failureOf(error).exitCode !== 1 || error instanceof StoreUnreachableError) return ''
      const { flag, key } = keyOf(flags)
      return key === undefined
        ? '; the change may or may not have been applied: check with tokenquota status before running it again (with --idempotency-key, a re-run applies nothing twice)'
        : `; the change may or may not have been applied: run the same command again with the same ${flag} ${key}`
    })(flags)
}

/** The `tokenquota` command line. */
export function program(): Command {
  const cli = new Command('tokenquota').description('Per-user LLM token quotas, from a terminal next to production.')
  cli.configureOutput({
    writeOut: (text) => terminal().out(text),
    writeErr: (text) => terminal().err(text),
    getOutHelpWidth: () => terminal().columns ?? 80,
    getErrHelpWidth: () => terminal().columns ?? 80,
  })
  cli.version(version, '-v, --version', 'print the version')
  cli.addHelpText(
    'after',
    `\nEvery command but check takes the connection flags (--redis-url, --prefix, --hash-tag, --timeout) and --config; check reads only its file (no store).\n${exitCodes}`,
  )

  withCaller(withPolicies(cli.command('status').description("a caller's windows: used, reserved, limit in force, reset, overrides, last refusal")))
    .option('--json', 'JSON for scripts')
    .action(run(async (flags) => (await commands.status()).status(flags)))

  withIdempotencyKey(
    withCaller(withPolicies(cli.command('reset').description("zero a caller's usage in the current window (reservations in flight keep holding)"))),
  )
    .option('--policy <name>', "one policy (default: the caller's own counters with usage, never one shared with others)")
    .option('--yes', 'confirm a reset of several counters')
    .option('--reason <text>', 'why, for the audit log')
    .option('--operator <name>', 'who, for the audit log (default: $USER)')
    .action(runWrite(async (flags) => (await commands.reset()).reset(flags)))

  withOverride(cli.command('grant').description('add tokens (or dollars) to a limit, for a while'))
    .requiredOption('--add <amount>', 'how much to add, in the policy unit')
    .action(runWrite(async (flags) => (await commands.overrides()).grant(flags)))

  withOverride(cli.command('set').description("replace a policy's limit for a caller or a class"))
    .requiredOption('--allow <amount>', 'the limit in force, in the policy unit')
    .action(runWrite(async (flags) => (await commands.overrides()).setAllow(flags)))

  withOverride(cli.command('clear').description('remove the overrides and grants of a caller or a class')).action(
    runWrite(async (flags) => (await commands.overrides()).clear(flags)),
  )

  withPolicies(
    cli
      .command('report')
      .description('top consumers, burn rate, projection, and credits granted, spent and expired (from the usage the app tracks with trackUsage on Redis)'),
  )
    .option('--since <days>', 'how far back, in days (e.g. 7d)', '7d')
    .option('--by <dimension>', 'user, model, project, org or tag', 'user')
    .option('--top <n>', 'how many consumers', '10')
    .option('--json', 'JSON for scripts')
    .action(run(async (flags) => (await commands.report()).report(flags)))

  cli
    .command('check')
    .description('validate a config file and print the policies it makes (reads only the file: no store)')
    .argument('<file>', 'token_limits.yaml, a .json config, or a .js/.mjs/.ts module exporting the policies')
    .option('--json', 'JSON for scripts')
    .action(run(async (file: string, flags: { json?: boolean }) => (await commands.check()).check(file, flags)))

  withCaller(withPolicies(cli.command('watch').description("a live table of today's heaviest users")))
    .option('--interval <seconds>', 'refresh every this many seconds', '2')
    .option('--top <n>', 'how many users', '20')
    .option('--count <n>', 'stop after this many refreshes')
    .action(run(async (flags) => (await commands.watch()).watch(flags)))

  credits(cli)
  strictUsage(cli)
  return cli
}

/** `tokenquota credits add | show | ledger`: prepaid balances (`type: 'balance'` policies). */
function credits(cli: Command): void {
  const group = cli.command('credits').description("prepaid credit balances (a policy with type: 'balance'): top up, show, ledger")
  const balanceCommand = (name: string, description: string) =>
    withCaller(withPolicies(group.command(name).description(description))).option('--policy <name>', 'the balance policy (default: the config has only one)')

  balanceCommand('add', 'add credits to a balance, once per --key (a replay changes nothing)')
    .requiredOption('--key <key>', "the top-up's idempotency key, e.g. the payment event id: the same key credits once, forever")
    .requiredOption('--amount <amount>', 'how much, in the policy unit (tokens, or dollars)')
    .option('--expires <when>', 'when what is left of it is gone: a date (YYYY-MM-DD) or a date-time (not a duration: a re-run must be the same top-up)')
    .option('--priority <0-100>', 'lower is spent first (default 50)')
    .option('--by <name>', 'who, for the ledger (default: $USER)')
    .option('--reason <text>', 'why, for the ledger')
    .action(
      runWrite(
        async (flags: CreditsAddFlags) => (await commands.credits()).creditsAdd(flags),
        (flags) => ({ flag: '--key', key: flags.key }),
      ),
    )

  balanceCommand('show', 'a balance: what is left, reserved and available, and its grants in spending order')
    .option('--json', 'JSON for scripts')
    .action(run(async (flags) => (await commands.credits()).creditsShow(flags)))

  balanceCommand('ledger', "a balance's ledger: every top-up, charge, expiry, refund and correction, oldest first")
    .option('--after <seq>', 'rows after this one (the last row of the previous page)')
    .option('--limit <n>', 'at most this many rows', '100')
    .option('--json', 'JSON for scripts')
    .action(run(async (flags) => (await commands.credits()).creditsLedger(flags)))
}

/**
 * Runs `tokenquota` on `argv` (`[node, script, ...args]`) and returns its exit code: 0 done, 1 the
 * store did not answer, 2 a usage error or bad input (one line on stderr); `--help` and `--version` 0.
 * Exits nothing: on another terminal (`withTerminal`), several runs share a process.
 */
export async function runCli(argv: readonly string[]): Promise<number> {
  try {
    const cli = program()
    cli.hook('preAction', (_root, action) => {
      refuseRepeatedFlags(action, argv.slice(2))
      refuseEmptyIdentifiers(action)
    })
    await cli.parseAsync(argv)
    return 0
  } catch (error) {
    if (error instanceof Failure) return await fail(error.error, error.afterword)
    if (!(error instanceof CommanderError)) return await fail(error)
    // Help asked for exits 0; help printed because no command was named is a usage error.
    return error.code === 'commander.help' ? 2 : error.exitCode
  }
}
