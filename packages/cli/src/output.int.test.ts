import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { config } from './testing/token-limits.js'

// The bin's own standard output failing: only a process has one. `check` reads only its file, so
// no store is needed; its table is written after the file is read, into an output already gone.
// Each run is awaited to its end (execFile), so the file shares the CLI's test workers.

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url))
const run = promisify(execFile)

interface Ended {
  readonly code: number | null
  readonly stderr: string
}

/** Waits for a run started by `run` to end; its exit code and stderr. */
async function ended(running: Promise<{ readonly stderr: string }>): Promise<Ended> {
  try {
    return { code: 0, stderr: (await running).stderr }
  } catch (error) {
    const failed = error as { code: number | null; stderr: string }
    return { code: failed.code, stderr: failed.stderr }
  }
}

const options = { env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8' as const }

describe("the bin's standard output", { timeout: 60_000, concurrent: true }, () => {
  it('a reader that stops reading (`tokenquota … | head -1`): exit 0, nothing on stderr (no EPIPE stack trace)', async () => {
    const running = run(process.execPath, [cli, 'check', config], options)
    // Our end of the pipe closes before the bin writes: its write fails with EPIPE.
    running.child.stdout?.destroy()
    expect(await ended(running)).toEqual({ code: 0, stderr: '' })
  })

  it('an output that cannot be written (a full disk): one line on stderr naming it, exit 1, no stack trace', async () => {
    // The shell opens /dev/full as the bin's standard output and becomes the bin (exec): the exit code is the bin's.
    const { code, stderr } = await ended(run('sh', ['-c', 'exec "$0" "$@" > /dev/full', process.execPath, cli, 'check', config], options))
    expect(code).toBe(1)
    expect(stderr).toMatch(/^tokenquota: cannot write the output: .*ENOSPC.*\n$/)
  })
})
