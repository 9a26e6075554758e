import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { expect, it } from 'vitest'

it('charges alice and falls back to the cheaper model once her big-model budget is spent', async () => {
  const script = fileURLToPath(new URL('./chat.mjs', import.meta.url))
  const env = { ...process.env, OPENAI_API_KEY: '', OPENAI_BASE_URL: '' }
  const { stdout } = await promisify(execFile)(process.execPath, [script], { env })
  expect(stdout).toContain('(local)')
  expect(stdout).toContain('↘ big-model-daily is spent: gpt-4o → gpt-4o-mini')
  expect(stdout).toMatch(/alice cheap-model-daily: [1-9]\d*\/5000 used/)
  expect(stdout).toMatch(/bob big-model-daily: [1-9]\d*\/300 used/)
})
