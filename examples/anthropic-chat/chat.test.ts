import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { expect, it } from 'vitest'

it('charges the cached prompt at its rates, and falls back from Opus to Haiku once the Opus budget is spent', async () => {
  const script = fileURLToPath(new URL('./chat.mjs', import.meta.url))
  const { stdout } = await promisify(execFile)(process.execPath, [script], { env: { ...process.env, ANTHROPIC_API_KEY: '' } })
  expect(stdout).toContain('(local)')
  expect(stdout).toMatch(/cache write [1-9]\d*, cache read 0/)
  expect(stdout).toMatch(/cache write 0, cache read [1-9]\d*/)
  expect(stdout).toContain('↘ opus-daily is spent: claude-opus-4-8 → claude-haiku-4-5')
  expect(stdout).toMatch(/alice user-monthly-usd: 0\.0\d+\/5 USD used/)
})
