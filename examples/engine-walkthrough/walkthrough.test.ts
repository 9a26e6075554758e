import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { expect, it } from 'vitest'

it('runs the walkthrough to a clean exit, with warnings, refusals and a summary', async () => {
  const script = fileURLToPath(new URL('./walkthrough.mjs', import.meta.url))
  const { stdout } = await promisify(execFile)(process.execPath, [script])
  expect(stdout).toContain('⚠ user-daily for cyd passed 80% (3600/4000)')
  // Each refusal says what the request needed (prompt + output budget) and what was left.
  const cyd = stdout.match(/✗ cyd: refused 2×, user-daily: needs ~(\d+) tokens, 400 left of 4000 \(retry in 14 h\)/)
  expect(Number(cyd?.[1])).toBeGreaterThan(400)
  const ada = stdout.match(/✗ ada: refused \d+×, org-daily: needs ~(\d+) tokens, 1600 left of 45000 \(retry in \d+ h\)/)
  expect(Number(ada?.[1])).toBeGreaterThan(1600)
  expect(stdout).toContain('cyd (free): 4 answered (3600 tokens)')
})
