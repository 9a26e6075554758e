import type { Command } from 'commander'
import { CliError } from './cli-error.js'
import { collect } from './context.js'

/**
 * Refuses a flag given twice with two values (`credits add --user alice … --user bob`): commander
 * keeps the last one silently, and an operator's slip must not pick whose balance changes. The same
 * value twice and the repeatable flags (`--context`) pass. `args` are the words after the script.
 */
export function refuseRepeatedFlags(command: Command, args: readonly string[]): void {
  const single = command.options.filter((option) => (option.required || option.optional) && option.parseArg !== collect && option.long !== undefined)
  const given = new Map<string, string>()
  for (let index = 0; index < args.length && args[index] !== '--'; index += 1) {
    const word = args[index]!
    const option = single.find((candidate) => word === candidate.long || word.startsWith(`${candidate.long}=`))
    if (!option) continue
    const long = option.long!
    const value = word === long ? (args[index + 1] ?? '') : word.slice(long.length + 1)
    if (given.has(long) && given.get(long) !== value)
      throw new CliError(`${long} was given twice, with different values: give it once (nothing was read or changed)`)
    given.set(long, value)
  }
}
