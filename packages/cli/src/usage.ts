import type { Command, CommanderError } from 'commander'
import { CliError } from './cli-error.js'

/** A usage error (unknown command or flag, missing value): one line with a hint, exit code 2. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, 2)
    this.name = 'UsageError'
  }
}

/**
 * Makes `command` and its subcommands report a usage error as a `UsageError` thrown from
 * `parseAsync` (one line naming the command's `--help`), instead of printing the help and exiting 1.
 * Help and version still print and throw commander's error with exit code 0.
 */
export function strictUsage(command: Command, path = command.name()): void {
  command.configureOutput({ outputError: () => undefined })
  command.exitOverride((error) => {
    if (error.exitCode === 0 || error.code === 'commander.help') throw error
    throw new UsageError(`${usageLine(error, path.split(' ').slice(1).join(' ') || command.name())} (see ${path} --help)`)
  })
  for (const sub of command.commands) strictUsage(sub, `${path} ${sub.name()}`)
}

/** Commander's message in the CLI's words: `unknown flag --foo (did you mean --user?)`. */
function usageLine(error: CommanderError, name: string): string {
  const [first = '', ...rest] = error.message.replace(/^error: /, '').split('\n')
  const suggestion = rest.length === 0 ? '' : ` ${rest.join(' ').replace('(Did you mean', '(did you mean')}`
  const quoted = /'([^']*)'/.exec(first)?.[1] ?? ''
  const flag = quoted.split(/[ ,]+/).find((part) => part.startsWith('--')) ?? quoted
  switch (error.code) {
    case 'commander.unknownOption':
      return `unknown flag ${quoted}${suggestion}`
    case 'commander.unknownCommand':
      return `unknown command ${quoted}${suggestion}`
    case 'commander.optionMissingArgument':
      return `${flag} needs a value`
    case 'commander.missingArgument':
      return `${name} needs a <${quoted}>`
    case 'commander.missingMandatoryOptionValue':
      return `${name} needs ${quoted.replace(/^-\w, /, '')}`
    case 'commander.excessArguments': {
      const [, expected, got] = /Expected (\d+) argument.* got \d+: (.*)\.$/.exec(first) ?? []
      return `${name} takes ${expected === '0' ? 'no argument' : `${expected} argument${expected === '1' ? '' : 's'}`}, got ${got}`
    }
    default:
      return first + suggestion
  }
}
