import { AsyncLocalStorage } from 'node:async_hooks'

/** Where a command's output goes and the environment it reads: the process's, or a caller's. */
export interface Terminal {
  /** Writes to standard output. */
  out(text: string): void
  /** Writes to standard error. */
  err(text: string): void
  /** The environment variables the command reads (`REDIS_URL`, `TOKENQUOTA_CONFIG`, `USER`, …). */
  readonly env: NodeJS.ProcessEnv
  /** Whether standard output is a terminal (watch then redraws in place). */
  readonly isTTY: boolean
  /** The terminal's width, when output goes to one (the help wraps to it, else to 80 columns). */
  readonly columns?: number
}

const processTerminal: Terminal = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  get env() {
    return process.env
  },
  get isTTY() {
    return process.stdout.isTTY === true
  },
  get columns() {
    return process.stdout.isTTY ? process.stdout.columns : undefined
  },
}

const current = new AsyncLocalStorage<Terminal>()

/** The terminal of the command running: the process's, unless `withTerminal` gave another. */
export function terminal(): Terminal {
  return current.getStore() ?? processTerminal
}

/**
 * Runs `work` with its output and environment on `given` instead of the process's: several
 * commands can run side by side in one process, each with its own (the CLI's tests run it in-process).
 */
export function withTerminal<T>(given: Terminal, work: () => T): T {
  return current.run(given, work)
}
