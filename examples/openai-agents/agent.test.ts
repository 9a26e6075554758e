import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { expect, it } from 'vitest'

it("charges a pro user's tool-using run and refuses a trial user part-way", async () => {
  const script = fileURLToPath(new URL('./agent.mjs', import.meta.url))
  const { stdout } = await promisify(execFile)(process.execPath, [script], { env: { ...process.env, OPENAI_API_KEY: '' } })
  expect(stdout).toContain('alice (pro): According to the tool: 18 °C and sunny in Paris.')
  expect(stdout).toMatch(/alice has used [1-9]\d* of 20000/)
  const refusal = stdout.match(/tim \(trial\): refused, user-daily: needs ~(\d+) tokens, (\d+) left of 560 \(retry in \d+ h\)/)
  expect(Number(refusal?.[1])).toBeGreaterThan(Number(refusal?.[2]))
  expect(stdout).toMatch(/tim has used [1-9]\d* of 560/)
})
