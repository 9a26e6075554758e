import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { expect, it } from 'vitest'

it('charges every model call of the agent and refuses once the budget is spent', async () => {
  const script = fileURLToPath(new URL('./agent.mjs', import.meta.url))
  const { stdout } = await promisify(execFile)(process.execPath, [script], { env: { ...process.env, OPENAI_API_KEY: '' } })
  expect(stdout).toContain('agent: According to the tool: It is 18 °C and sunny in Paris.')
  const refusal = stdout.match(/refused: user-daily: needs ~(\d+) tokens, (\d+) left of 660 \(retry in \d+ h\)/)
  expect(Number(refusal?.[1])).toBeGreaterThan(Number(refusal?.[2]))
  const used = [...stdout.matchAll(/alice has used (\d+) of 660/g)].map((match) => Number(match[1]))
  expect(used).toHaveLength(3)
  expect(used[0]).toBeGreaterThan(0)
  expect(used[1]).toBeGreaterThan(used[0]!)
  expect(used[2]).toBeLessThanOrEqual(660)
})
