import type { Command } from 'commander'
import { CliError } from './cli-error.js'
import type { ContextFlags } from './context.js'
import { printable } from './printable.js'

/**
 * Refuses an empty identifier (`--user ''`, `--context tier=`), a script's unset variable: it names
 * no caller, and the command would answer about someone else ("no policy counts user …").
 */
export function refuseEmptyIdentifiers(command: Command): void {
  const flags = command.opts<ContextFlags>()
  for (const key of ['user', 'org', 'project', 'plan'] as const) {
    if (flags[key] === '') throw emptyIdentifier(`--${key}`)
  }
  for (const pair of flags.context ?? []) {
    const at = pair.indexOf('=')
    if (at > 0 && at === pair.length - 1) throw emptyIdentifier(`--context ${printable(pair.slice(0, at))}`)
  }
}

function emptyIdentifier(flag: string): CliError {
  return new CliError(`expected ${flag} to be an identifier, got "" (nothing was read or changed)`)
}
