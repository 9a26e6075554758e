import { execFile } from 'node:child_process'
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
// @ts-expect-error: a plain ES module without types
import { startLocalAnthropic } from '../examples/anthropic-chat/local-anthropic-server.mjs'
// @ts-expect-error: a plain ES module without types
import { startLocalGemini } from '../examples/gemini/local-gemini-server.mjs'
// @ts-expect-error: a plain ES module without types
import { startLocalOpenAI } from '../examples/openai-chat/local-openai-server.mjs'
import { postgresDatabase } from '@tokenquota/test-support/postgres'
import { startRedisServer } from '@tokenquota/test-support/redis'
import { shownOutputs, snippetsOf } from './readme-snippets.js'
import { type ExampleOutcome, exampleRunner } from './example-outcome.js'

// Every TypeScript example in the README and in the README of each published package (what npm
// shows on its page; package-readmes.test.ts checks the rest of those READMEs) runs, as written,
// against the built packages, and prints what it says it prints (`npm run typecheck` compiles them
// under a strict tsconfig: typecheck-snippets.test.ts).
const root = fileURLToPath(new URL('..', import.meta.url))
const scratch = `${root}.readme-examples/`
const snippets = await snippetsOf(`${root}README.md`)
const blocks = snippets.filter((snippet) => snippet.language === 'ts').map((snippet) => snippet.code)
// The store-contract snippet needs a store class of the reader's; it is exercised by the MemoryStore tests.
const runnable = blocks.filter((block) => !block.includes('MyStore'))
const published = (
  await Promise.all(
    (await readdir(`${root}packages`)).map(async (dir) => ({ dir, manifest: JSON.parse(await readFile(`${root}packages/${dir}/package.json`, 'utf8')) })),
  )
).filter(({ manifest }) => !manifest.private)
const packageExamples = (
  await Promise.all(
    published.map(async ({ dir }) =>
      (await snippetsOf(`${root}packages/${dir}/README.md`)).filter((snippet) => snippet.language === 'ts').map((snippet) => [dir, snippet.code] as const),
    ),
  )
).flat()

// Examples that call OpenAI, Anthropic or Gemini talk to local compatible endpoints instead; examples
// that use Redis, to a redis-server of their own; those that use Postgres, to a database of their own.
// Each example is on its own quota (Redis: under its own prefix). All of them, the README's and the
// packages', run one after another in one Node process (scripts/example-runner.mjs): the SDKs they
// share (LangChain's alone is ~1 CPU-s to load) load once. That process must exit on its own once
// they have all run.
let outcomes: ExampleOutcome[]
let stopAll: () => Promise<unknown>
beforeAll(async () => {
  const [databaseUrl, openai, anthropic, gemini, redis] = await Promise.all([
    postgresDatabase('readme'),
    startLocalOpenAI(),
    startLocalAnthropic(),
    startLocalGemini(),
    startRedisServer(),
  ])
  stopAll = () => Promise.all([openai.close(), anthropic.close(), gemini.close(), redis.kill()])
  await mkdir(scratch, { recursive: true })
  const files = [
    ...runnable.map((block, index) => [`${scratch}example-${index}.mts`, block] as const),
    ...packageExamples.map(([dir, block], index) => [`${scratch}package-${dir}-${index}.mts`, block] as const),
  ]
  await Promise.all(files.map(([file, block]) => writeFile(file, block)))
  // Relative paths in the examples (token_limits.yaml) resolve against the fixtures folder.
  const cwd = `${root}packages/core/src/config/__fixtures__`
  const env = {
    ...process.env,
    OPENAI_BASE_URL: openai.baseURL,
    OPENAI_API_KEY: 'sk-local',
    ANTHROPIC_BASE_URL: anthropic.baseURL,
    ANTHROPIC_API_KEY: 'sk-ant-local',
    GOOGLE_GEMINI_BASE_URL: gemini.baseUrl,
    GEMINI_API_KEY: 'local',
    REDIS_URL: redis.url,
    DATABASE_URL: databaseUrl,
  }
  await promisify(execFile)(process.execPath, [exampleRunner, `${scratch}results.json`, ...files.map(([file]) => file)], { cwd, env })
  outcomes = JSON.parse(await readFile(`${scratch}results.json`, 'utf8'))
}, 90_000)
afterAll(async () => {
  await stopAll?.()
  await rm(scratch, { recursive: true, force: true })
})

describe('README examples', () => {
  it('has examples to run', () => {
    expect(runnable.length).toBeGreaterThanOrEqual(4)
  })

  it.for(runnable.map((block, index) => [index, block] as const))('example %i runs', ([index, block]) => {
    const { stdout, error, exitCode } = outcomes[index]!
    expect(error, `example ${index} threw`).toBeUndefined()
    expect(exitCode ?? 0, `example ${index} set an exit code`).toBe(0)
    if (block.includes('console.log')) expect(stdout.length).toBeGreaterThan(0)
    // `console.log(…) // → text`: the README shows `text` as printed; it is, in that order.
    const printed = stdout.split('\n')
    let from = 0
    for (const output of shownOutputs(block).outputs) {
      const at = printed.indexOf(output, from)
      expect(at, `example ${index} shows "${output}" as printed; it printed:\n${stdout}`).toBeGreaterThanOrEqual(0)
      from = at + 1
    }
  })

  it('marks every output it shows: a comment after console.log is `// → what it prints`', () => {
    expect(blocks.flatMap((block) => shownOutputs(block).unmarked)).toEqual([])
  })

  it('shows the token_limits.yaml its config snippet loads, as the file is', async () => {
    const shown = snippets.find((snippet) => snippet.language === 'yaml' && snippet.code.startsWith('# token_limits.yaml'))
    expect(shown?.code).toBe(await readFile(`${root}packages/core/src/config/__fixtures__/token_limits.yaml`, 'utf8'))
  })
})

describe('package README examples', () => {
  const packageOutcome = (index: number) => outcomes[runnable.length + index]!

  it('has an example in every library package', () => {
    expect(new Set(packageExamples.map(([dir]) => dir))).toEqual(new Set(['ai-sdk', 'anthropic', 'core', 'gemini', 'langchain', 'openai']))
  })

  it.for(packageExamples.map(([dir], index) => [dir, index] as const))('packages/%s/README.md example %i runs', ([dir, index]) => {
    const { stdout, error, exitCode } = packageOutcome(index)
    expect(error, `packages/${dir}/README.md's example threw`).toBeUndefined()
    expect(exitCode ?? 0).toBe(0)
    // Every example ends by printing the user's status: one policy, with what the call used.
    expect(stdout).toMatch(/used: [1-9]/)
  })
})
