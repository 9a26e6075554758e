import { execFile } from 'node:child_process'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
// @ts-expect-error: a plain ES module without types
import { startLocalAnthropic } from '../examples/anthropic-chat/local-anthropic-server.mjs'
// @ts-expect-error: a plain ES module without types
import { startLocalOpenAI } from '../examples/openai-chat/local-openai-server.mjs'
import { postgresDatabase } from '@tokenquota/test-support/postgres'
import { startRedisServer, type RedisServer } from '@tokenquota/test-support/redis'
import { shownOutputs, snippetsOf } from './readme-snippets.js'

// Every TypeScript example in the README runs, as written, against the built packages, and prints
// what it says it prints (typescript-snippets.test.ts compiles them under a strict tsconfig).
const root = fileURLToPath(new URL('..', import.meta.url))
const scratch = `${root}.readme-examples/`
const snippets = await snippetsOf(`${root}README.md`)
const blocks = snippets.filter((snippet) => snippet.language === 'ts').map((snippet) => snippet.code)
// The store-contract snippet needs a store class of the reader's; it is exercised by the MemoryStore tests.
const runnable = blocks.filter((block) => !block.includes('MyStore'))

describe('README examples', () => {
  // Examples that call OpenAI or Anthropic talk to local compatible endpoints instead; examples that
  // use Redis, to a redis-server of their own; those that use Postgres, to a database of their own.
  let endpoint: { baseURL: string; close(): Promise<void> }
  let anthropic: { baseURL: string; close(): Promise<void> }
  let redis: RedisServer
  let databaseUrl: string
  beforeAll(async () => {
    databaseUrl = await postgresDatabase('readme')
    endpoint = await startLocalOpenAI()
    anthropic = await startLocalAnthropic()
    redis = await startRedisServer()
    await mkdir(scratch, { recursive: true })
  })
  afterAll(async () => {
    await endpoint.close()
    await anthropic.close()
    await redis.kill()
    await rm(scratch, { recursive: true, force: true })
  })

  it('has examples to run', () => {
    expect(runnable.length).toBeGreaterThanOrEqual(4)
  })

  // Each example is its own Node process on its own quota (Redis: one example, under its own prefix),
  // and the local endpoints answer by the question: they run side by side, and so each has a minute
  // (Node processes loading the SDKs at once on a loaded 2-core machine); a hung one still fails.
  const sideBySide = { timeout: 60_000 }
  it.concurrent.for(runnable.map((block, index) => [index, block] as const))('example %i runs', sideBySide, async ([index, block], { expect }) => {
    const file = `${scratch}example-${index}.mts`
    await writeFile(file, block)
    // Relative paths in the examples (token_limits.yaml) resolve against the fixtures folder.
    const cwd = `${root}packages/core/src/config/__fixtures__`
    const env = {
      ...process.env,
      OPENAI_BASE_URL: endpoint.baseURL,
      OPENAI_API_KEY: 'sk-local',
      ANTHROPIC_BASE_URL: anthropic.baseURL,
      ANTHROPIC_API_KEY: 'sk-ant-local',
      REDIS_URL: redis.url,
      DATABASE_URL: databaseUrl,
    }
    const { stdout } = await promisify(execFile)(process.execPath, [file], { cwd, env })
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
