import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { expect, it } from 'vitest'

it('charges generateText, streamText and every step of a tool loop', async () => {
  const script = fileURLToPath(new URL('./ai-sdk.mjs', import.meta.url))
  const { stdout } = await promisify(execFile)(process.execPath, [script], { env: { ...process.env, OPENAI_API_KEY: '' } })
  const used = [...stdout.matchAll(/alice has used (\d+) tokens/g)].map((match) => Number(match[1]))
  expect(used).toHaveLength(3)
  expect(used[0]).toBeGreaterThan(0)
  expect(used[1]).toBeGreaterThan(used[0]!)
  expect(used[2]).toBeGreaterThan(used[1]!)
  expect(stdout).toContain('tool loop (2 steps): According to the tool: 18 °C and sunny in Paris.')
})
