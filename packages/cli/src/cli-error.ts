import { QuotaConfigError, QuotaInputError, StoreUnavailableError } from '@tokenquota/core'

/** The exit codes, as the help and the README state them. */
export const exitCodes =
  'Exit codes: 0 done; 1 the store did not answer (refused, or silent past --timeout), or a --config module did not finish loading within it; 2 a usage error (unknown command or flag, missing value) or a bad URL, config, identifier or amount.'

/** A failure the operator can fix (a bad flag, URL, config or identifier): exit code 2. */
export class CliError extends Error {
  readonly exitCode: number

  constructor(message: string, exitCode = 2) {
    super(message)
    this.name = 'CliError'
    this.exitCode = exitCode
  }
}

/** The store did not answer before anything was sent to it (refused, or timed out connecting): exit code 1, nothing changed. */
export class StoreUnreachableError extends CliError {
  constructor(message: string) {
    super(message, 1)
    this.name = 'StoreUnreachableError'
  }
}

/** The message and exit code for what a command threw: 2 for the operator's input, 1 for the rest. */
export function failureOf(error: unknown): { message: string; exitCode: number } {
  if (error instanceof CliError) return { message: error.message, exitCode: error.exitCode }
  // The CLI's own shardKey refused (no shard named): the engine wraps what a shardKey throws.
  if (QuotaInputError.isInstance(error) && error.cause instanceof CliError) return failureOf(error.cause)
  if (QuotaConfigError.isInstance(error)) return { message: `invalid config: ${error.message}`, exitCode: 2 }
  if (QuotaInputError.isInstance(error)) return { message: error.message, exitCode: 2 }
  if (StoreUnavailableError.isInstance(error)) return { message: `the store did not answer: ${error.message}`, exitCode: 1 }
  // ioredis's own commandTimeout (calls outside the stores' scripts).
  if (error instanceof Error && error.message === 'Command timed out') return { message: 'the store did not answer within --timeout', exitCode: 1 }
  return { message: error instanceof Error ? error.message : String(error), exitCode: 1 }
}
