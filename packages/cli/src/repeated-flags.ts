import type { Command } from 'commander'
import { CliError } from './cli-error.js'
import { collect } from './context.js'
import { printable } from './printable.js'

const contextFlags = new Set(['--user', '--org', '--project', '--plan'])

/**
 * Refuses a flag given twice with two values (`credits add --user alice … --user bob`): commander
 * keeps the last one silently, and an operator's slip must not pick whose balance changes. The same
 * value twice and the repeatable flags (`--context`) pass, but not one context key given two values
 * (`--context tier=a --context tier=b`, `--user alice --context user=bob`): the last would win as
 * silently. `args` are the words after the script.
 */
export function refuseRepeatedFlags(command: Command, args: readonly string[]): void {
  const valued = command.options.filter((option) => (option.required || option.optional) && option.long !== undefined)
  const given = new Map<string, string>()
  const keys = new Map<string, { readonly value: string; readonly shown: string }>()
  for (let index = 0; index < args.length && args[index] !== '--'; index += 1) {
    const word = args[index]!
    const option = valued.find((candidate) => word === candidate.long || word.startsWith(`${candidate.long}=`))
    if (!option) continue
    const long = option.long!
    const value = word === long ? (args[index + 1] ?? '') : word.slice(long.length + 1)
    if (option.parseArg !== collect) {
      if (given.has(long) && given.get(long) !== value)
        throw new CliError(`${long} was given twice, with different values: give it once (nothing was read or changed)`)
      given.set(long, value)
    }
    const key = long === '--context' ? value.slice(0, Math.max(0, value.indexOf('='))) : contextFlags.has(long) ? long.slice(2) : ''
    if (key === '') continue
    const keyValue = long === '--context' ? value.slice(key.length + 1) : value
    const shown = `${long} ${printable(value)}`
    const earlier = keys.get(key)
    if (earlier && earlier.value !== keyValue)
      throw new CliError(`${shown} contradicts ${earlier.shown}: give each context key once (nothing was read or changed)`)
    keys.set(key, { value: keyValue, shown })
  }
}
