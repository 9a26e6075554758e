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
