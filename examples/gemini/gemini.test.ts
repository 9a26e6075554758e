import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { expect, it } from 'vitest'

it('charges Pro until its budget is spent, then falls back to Flash', async () => {
  const script = fileURLToPath(new URL('./gemini.mjs', import.meta.url))
  const { stdout } = await promisify(execFile)(process.execPath, [script], { env: { ...process.env, GEMINI_API_KEY: '' } })
  expect(stdout).toContain('turn 1 (gemini-2.5-pro): Quotas keep every user within their plan.')
  expect(stdout).toContain('↘ pro-daily is spent: gemini-2.5-pro → gemini-2.5-flash')
  expect(stdout).toMatch(/alice pro-daily: [1-9]\d*\/1100 used/)
  expect(stdout).toMatch(/alice flash-daily: [1-9]\d*\/50000 used/)
})
