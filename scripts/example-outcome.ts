import { fileURLToPath } from 'node:url'

/**
 * `node <exampleRunner> <results.json> <example.mts>…` runs the examples one after another in one
 * Node process and writes their outcomes, in order, to results.json.
 */
export const exampleRunner = fileURLToPath(new URL('./example-runner.mjs', import.meta.url))

/** What one example did when it ran (an entry of the runner's results.json). */
export interface ExampleOutcome {
  readonly file: string
  readonly stdout: string
  /** What it threw (its stack), if it did. */
  readonly error?: string
  /** The `process.exitCode` it set, if any. */
  readonly exitCode?: number
}
