import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ExampleOutcome, exampleRunner } from './example-outcome.js'

// The examples' scripts, each as a reader runs it (`node examples/…/x.mjs`, no API key: against the
// example's own local endpoint, on in-memory counters), print what they say they do. They run one
// after another in one Node process (scripts/example-runner.mjs), as the README examples do: the
// SDKs several of them use (OpenAI's, zod, LangChain) load once, not once per example. That process
// must exit on its own once they have all run, or it names what they left open.
const root = fileURLToPath(new URL('..', import.meta.url))
const scripts = [
  'ai-sdk/ai-sdk.mjs',
  'anthropic-chat/chat.mjs',
  'demo/demo.mjs',
  'engine-walkthrough/walkthrough.mjs',
  'gemini/gemini.mjs',
  'langchain-agent/agent.mjs',
  'openai-agents/agent.mjs',
  'openai-chat/chat.mjs',
] as const

let scratch: string
let outcomes: Map<string, ExampleOutcome>
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'example-scripts-'))
  // No provider key, base URL or Redis of the developer's: each example starts its local endpoint.
  const env: NodeJS.ProcessEnv = { ...process.env, OPENAI_API_KEY: '', ANTHROPIC_API_KEY: '', GEMINI_API_KEY: '', REDIS_URL: '' }
  delete env.OPENAI_BASE_URL
  const files = scripts.map((script) => `${root}examples/${script}`)
  await promisify(execFile)(process.execPath, [exampleRunner, join(scratch, 'results.json'), ...files], { env })
  const results = JSON.parse(await readFile(join(scratch, 'results.json'), 'utf8')) as ExampleOutcome[]
  outcomes = new Map(results.map((outcome, index) => [scripts[index]!, outcome]))
}, 90_000)
afterAll(() => scratch && rm(scratch, { recursive: true, force: true }))

/** What `script` printed, once it ran to its end without throwing or setting an exit code. */
function stdoutOf(script: (typeof scripts)[number]): string {
  const { stdout, error, exitCode } = outcomes.get(script)!
  expect(error, `examples/${script} threw`).toBeUndefined()
  expect(exitCode ?? 0, `examples/${script} set an exit code`).toBe(0)
  return stdout
}

describe('examples/ai-sdk', () => {
  it('charges generateText, streamText and every step of a tool loop', () => {
    const stdout = stdoutOf('ai-sdk/ai-sdk.mjs')
    const used = [...stdout.matchAll(/alice has used (\d+) tokens/g)].map((match) => Number(match[1]))
    expect(used).toHaveLength(3)
    expect(used[0]).toBeGreaterThan(0)
    expect(used[1]).toBeGreaterThan(used[0]!)
    expect(used[2]).toBeGreaterThan(used[1]!)
    expect(stdout).toContain('tool loop (2 steps): According to the tool: 18 °C and sunny in Paris.')
  })
})

describe('examples/anthropic-chat', () => {
  it('charges the cached prompt at its rates, and falls back from Opus to Haiku once the Opus budget is spent', () => {
    const stdout = stdoutOf('anthropic-chat/chat.mjs')
    expect(stdout).toContain('(local)')
    expect(stdout).toMatch(/cache write [1-9]\d*, cache read 0/)
    expect(stdout).toMatch(/cache write 0, cache read [1-9]\d*/)
    expect(stdout).toContain('↘ opus-daily is spent: claude-opus-4-8 → claude-haiku-4-5')
    expect(stdout).toMatch(/alice user-monthly-usd: 0\.0\d+\/5 USD used/)
  })
})

describe('examples/demo', () => {
  it('runs the demo on embedded defaults to a clean exit, with warnings, fallbacks, refusals, a money budget, a summary, and a plan spilling into credits', () => {
    const stdout = stdoutOf('demo/demo.mjs')
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
})

describe('examples/engine-walkthrough', () => {
  it('runs the walkthrough to a clean exit, with warnings, refusals and a summary', () => {
    const stdout = stdoutOf('engine-walkthrough/walkthrough.mjs')
    expect(stdout).toContain('⚠ user-daily for cyd passed 80% (3600/4000)')
    // Each refusal says what the request needed (prompt + output budget) and what was left.
    const cyd = stdout.match(/✗ cyd: refused 2×, user-daily: needs ~(\d+) tokens, 400 left of 4000 \(retry in 14 h\)/)
    expect(Number(cyd?.[1])).toBeGreaterThan(400)
    const ada = stdout.match(/✗ ada: refused \d+×, org-daily: needs ~(\d+) tokens, 1600 left of 45000 \(retry in \d+ h\)/)
    expect(Number(ada?.[1])).toBeGreaterThan(1600)
    expect(stdout).toContain('cyd (free): 4 answered (3600 tokens)')
  })
})

describe('examples/gemini', () => {
  it('charges Pro until its budget is spent, then falls back to Flash', () => {
    const stdout = stdoutOf('gemini/gemini.mjs')
    expect(stdout).toContain('turn 1 (gemini-2.5-pro): Quotas keep every user within their plan.')
    expect(stdout).toContain('↘ pro-daily is spent: gemini-2.5-pro → gemini-2.5-flash')
    expect(stdout).toMatch(/alice pro-daily: [1-9]\d*\/1100 used/)
    expect(stdout).toMatch(/alice flash-daily: [1-9]\d*\/50000 used/)
  })
})

describe('examples/langchain-agent', () => {
  it('charges every model call of the agent and refuses once the budget is spent', () => {
    const stdout = stdoutOf('langchain-agent/agent.mjs')
    expect(stdout).toContain('agent: According to the tool: It is 18 °C and sunny in Paris.')
    const refusal = stdout.match(/refused: user-daily: needs ~(\d+) tokens, (\d+) left of 660 \(retry in \d+ h\)/)
    expect(Number(refusal?.[1])).toBeGreaterThan(Number(refusal?.[2]))
    const used = [...stdout.matchAll(/alice has used (\d+) of 660/g)].map((match) => Number(match[1]))
    expect(used).toHaveLength(3)
    expect(used[0]).toBeGreaterThan(0)
    expect(used[1]).toBeGreaterThan(used[0]!)
    expect(used[2]).toBeLessThanOrEqual(660)
  })
})

describe('examples/openai-agents', () => {
  it("charges a pro user's tool-using run and refuses a trial user part-way", () => {
    const stdout = stdoutOf('openai-agents/agent.mjs')
    expect(stdout).toContain('alice (pro): According to the tool: 18 °C and sunny in Paris.')
    expect(stdout).toMatch(/alice has used [1-9]\d* of 20000/)
    const refusal = stdout.match(/tim \(trial\): refused, user-daily: needs ~(\d+) tokens, (\d+) left of 560 \(retry in \d+ h\)/)
    expect(Number(refusal?.[1])).toBeGreaterThan(Number(refusal?.[2]))
    expect(stdout).toMatch(/tim has used [1-9]\d* of 560/)
  })
})

describe('examples/openai-chat', () => {
  it('charges alice and falls back to the cheaper model once her big-model budget is spent', () => {
    const stdout = stdoutOf('openai-chat/chat.mjs')
    expect(stdout).toContain('(local)')
    expect(stdout).toContain('↘ big-model-daily is spent: gpt-4o → gpt-4o-mini')
    expect(stdout).toMatch(/alice cheap-model-daily: [1-9]\d*\/5000 used/)
    expect(stdout).toMatch(/bob big-model-daily: [1-9]\d*\/300 used/)
  })
})
