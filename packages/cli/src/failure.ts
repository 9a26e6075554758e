import { QuotaConfigError, QuotaInputError, StoreUnavailableError } from '@tokenquota/core'
import { CliError } from './cli-error.js'

// Apart from cli-error.ts, which every module imports: core is loaded only once a command has failed
// (or runs), not for --help, --version or a usage error.

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
