import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { expect, it } from 'vitest'

it('runs the demo on embedded defaults to a clean exit, with warnings, fallbacks, refusals, a money budget, a summary, and a plan spilling into credits', async () => {
  const script = fileURLToPath(new URL('./demo.mjs', import.meta.url))
  const { stdout } = await promisify(execFile)(process.execPath, [script], { env: { ...process.env, OPENAI_API_KEY: '', REDIS_URL: '' } })
  expect(stdout).toContain('local OpenAI-compatible endpoint, in-memory counters')
  expect(stdout).toMatch(/⚠ {2}cyd passed 80 % of user-daily/)
  expect(stdout).toMatch(/↘ {2}ada: gpt-4o-daily spent, gpt-4o → gpt-4o-mini/)
  // A refusal says what the request needed (its reservation: prompt estimate + output cap) and what was left.
  const refusal = stdout.match(/✗ {2}cyd: refused, user-daily: needs ~(\d+) tokens, (\d+) left of 700 \(retry in \d+ h\); HTTP 429, Retry-After: \d+/)
  expect(Number(refusal?.[1])).toBeGreaterThan(Number(refusal?.[2]))
  expect(stdout).toMatch(/ada \(premium\): 12 answered \([1-9]\d* by gpt-4o-mini\), 0 refused/)
  expect(stdout).toMatch(/cyd \(free\): \d+ answered \(\d+ by gpt-4o-mini\), [1-9]\d* refused/)
  // The org's money budget: priced calls fill it, its 50 % warning fires in dollars.
  expect(stdout).toMatch(/⚠ {2}org passed 50 % of org-monthly-usd \(\$0\.00[5-9]\d\/\$0\.0100\)/)
  const spent = Number(stdout.match(/org: \$(\d\.\d{4}) spent of its \$0\.0100 monthly budget/)?.[1])
  expect(spent).toBeGreaterThan(0.005)
  expect(spent).toBeLessThanOrEqual(0.01)

  // Selling usage: a payment delivered twice credits once; dee's plan spills into credits, then both run out.
  expect(stdout).toContain('💳 payment evt_demo_dee_pack (delivery 1): credited 1000; balance 1000')
  expect(stdout).toContain('💳 payment evt_demo_dee_pack (delivery 2): already applied, nothing credited; balance 1000')
  const spills = [...stdout.matchAll(/⇢ {2}dee: (\d+) tokens = plan (\d+) \+ credits (\d+)/g)].map((match) => match.slice(1).map(Number))
  expect(spills.length).toBeGreaterThanOrEqual(2)
  for (const [total, plan, credits] of spills) expect(plan! + credits!).toBe(total)
  expect(spills[0]![1]).toBeGreaterThan(0) // the first spill: the rest of the plan, then credits
  expect(spills.at(-1)![1]).toBe(0) // later calls: credits alone
  expect(stdout).toMatch(/⚠ {2}dee's credits are low: \d+ left/)
  expect(stdout).toMatch(/✗ {2}dee: refused \(CreditsExhausted\)/)
  const summary = stdout.match(/dee \(starter\): (\d+) answered, 1 refused; plan 600 of 600, credits (\d+) spent of 1000, (\d+) left/)
  expect(summary, stdout).not.toBeNull()
  expect(Number(summary![2]) + Number(summary![3])).toBe(1000)
  expect(stdout).toMatch(new RegExp(`ledger: \\d+ rows \\(1 top-up\\), summing to ${summary![3]}, the balance`))
})
