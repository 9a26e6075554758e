import { spawn } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { config } from './testing/token-limits.js'

// The bin's own standard output failing: only a process has one. `check` reads only its file, so
// no store is needed; its table is written after the file is read, into an output already gone.

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url))

interface Ended {
  readonly code: number | null
  readonly stderr: string
}

/** Runs the bin's `check` with `stdout` as its standard output; `closeOutput` closes our end of a pipe before the bin writes. */
async function check(stdout: 'pipe' | number, closeOutput = false): Promise<Ended> {
  const child = spawn(process.execPath, [cli, 'check', config], { stdio: ['ignore', stdout, 'pipe'], env: { PATH: process.env.PATH ?? '' } })
  if (closeOutput) child.stdout?.destroy()
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  return { code, stderr }
}

describe("the bin's standard output", { timeout: 60_000, concurrent: true }, () => {
  it('a reader that stops reading (`tokenquota … | head -1`): exit 0, nothing on stderr (no EPIPE stack trace)', async () => {
    expect(await check('pipe', true)).toEqual({ code: 0, stderr: '' })
  })

  it('an output that cannot be written (a full disk): one line on stderr naming it, exit 1, no stack trace', async () => {
    const full = openSync('/dev/full', 'w')
    try {
      const { code, stderr } = await check(full)
      expect(code).toBe(1)
      expect(stderr).toMatch(/^tokenquota: cannot write the output: .*ENOSPC.*\n$/)
    } finally {
      closeSync(full)
    }
  })
})
