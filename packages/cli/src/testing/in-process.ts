import { runCli } from '../program.js'
import { withTerminal } from '../terminal.js'

/** A CLI run's exit code and output. */
export interface Outcome {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs `tokenquota …` in this process, as `tokenquota` (harness.ts) runs the built bin: the same
 * outcome (exit code, stdout, stderr), with only the environment given (no REDIS_URL of the
 * machine's) and the operator `ops-test`, in a few milliseconds instead of a process start-up.
 * Runs may go side by side. What needs a process stays with `tokenquota`: the working directory,
 * Node's own loader and flags (a config module's TypeScript, `--no-experimental-strip-types`), a
 * handle left open at import, and the bin itself.
 */
export async function tokenquotaInProcess(args: readonly string[], env: Record<string, string> = {}): Promise<Outcome> {
  let stdout = ''
  let stderr = ''
  const terminal = {
    out: (text: string) => {
      stdout += text
    },
    err: (text: string) => {
      stderr += text
    },
    env: { USER: 'ops-test', ...env },
    isTTY: false,
  }
  const code = await withTerminal(terminal, () => runCli(['node', 'tokenquota', ...args]))
  return { code, stdout, stderr }
}
