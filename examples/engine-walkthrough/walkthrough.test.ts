import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { expect, it } from 'vitest'

it('runs the walkthrough to a clean exit, with warnings, refusals and a summary', async () => {
  const script = fileURLToPath(new URL('./walkthrough.mjs', import.meta.url))
  const { stdout } = await promisify(execFile)(process.execPath, [script])
  expect(stdout).toContain('⚠ user-daily for cyd passed 80% (3600/4000)')
  expect(stdout).toMatch(/✗ cyd by user-daily: refused 2× \(3600\/4000 used, retry in 14h00\)/)
  expect(stdout).toMatch(/✗ ada by org-daily: refused \d+× \(43400\/45000 used/)
  expect(stdout).toContain('cyd (free): 4 answered (3600 tokens)')
})
