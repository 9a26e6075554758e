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
import { type ExampleOutcome, exampleRunner } from './example-outcome.js'

// The README each published package carries (what npm shows on its page): it says what the package
// is, how to install it and where the main README is, and its example runs, as written, against the
// built packages (`npm run build` first), like the main README's (readme-examples.test.ts).
const root = fileURLToPath(new URL('..', import.meta.url))
const scratch = `${root}.package-readme-examples/`
const rootLicense = await readFile(`${root}LICENSE`, 'utf8')
const manifests = await Promise.all(
  (await readdir(`${root}packages`)).map(async (dir) => ({ dir, manifest: JSON.parse(await readFile(`${root}packages/${dir}/package.json`, 'utf8')) })),
)
const published = manifests.filter(({ manifest }) => !manifest.private)
const readmes = await Promise.all(
  published.map(async ({ dir, manifest }) => ({ dir, manifest, readme: await readFile(`${root}packages/${dir}/README.md`, 'utf8') })),
)
const examples = readmes.flatMap(({ dir, readme }) => [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => [dir, match[1] ?? ''] as const))

describe('the README, LICENSE and metadata of every published package', () => {
  it('covers the seven published packages', () => {
    expect(published.map(({ manifest }) => manifest.name).sort()).toEqual(
      ['ai-sdk', 'anthropic', 'cli', 'core', 'gemini', 'langchain', 'openai'].map((name) => `@tokenquota/${name}`),
    )
  })

  it.each(readmes.map(({ dir, manifest, readme }) => [manifest.name, dir, manifest, readme]))(
    '%s: README, LICENSE, CHANGELOG, metadata',
    async (name, dir, manifest, readme) => {
      expect(readme.startsWith(`# ${name}\n`)).toBe(true)
      expect(readme).toMatch(new RegExp(`npm install (--global )?(@tokenquota/core )?${name}`))
      expect(readme).toContain('](https://github.com/tokenquota/tokenquota#')
      expect(await readFile(`${root}packages/${dir}/LICENSE`, 'utf8')).toBe(rootLicense)
      expect(await readFile(`${root}packages/${dir}/CHANGELOG.md`, 'utf8')).toMatch(
        new RegExp(`^# ${name}\\n\\n## ${manifest.version.replaceAll('.', '\\.')}\\n`),
      )
      expect(manifest).toMatchObject({
        license: 'MIT',
        repository: { type: 'git', url: 'git+https://github.com/tokenquota/tokenquota.git', directory: `packages/${dir}` },
        homepage: `https://github.com/tokenquota/tokenquota/tree/main/packages/${dir}#readme`,
        bugs: { url: 'https://github.com/tokenquota/tokenquota/issues' },
        publishConfig: { access: 'public' },
      })
      expect(manifest.keywords.length).toBeGreaterThan(3)
      // Never a Node.js version its core does not support: core's own range, or the part of it from 22.12.
      const core = JSON.parse(await readFile(`${root}packages/core/package.json`, 'utf8'))
      expect([core.engines.node, '>=22.12.0']).toContain(manifest.engines.node)
    },
  )
})

describe('package README examples', () => {
  let openai: { baseURL: string; close(): Promise<void> }
  let anthropic: { baseURL: string; close(): Promise<void> }
  let gemini: { baseUrl: string; close(): Promise<void> }
  let outcomes: ExampleOutcome[]
  // Each example is on its own in-memory quota: they run one after another in one Node process
  // (scripts/example-runner.mjs), which must exit on its own once they have all run.
  beforeAll(async () => {
    ;[openai, anthropic, gemini] = await Promise.all([startLocalOpenAI(), startLocalAnthropic(), startLocalGemini()])
    await mkdir(scratch, { recursive: true })
    const files = examples.map((_, index) => `${scratch}example-${index}.mts`)
    await Promise.all(examples.map(([, block], index) => writeFile(files[index]!, block)))
    const env = {
      ...process.env,
      OPENAI_BASE_URL: openai.baseURL,
      OPENAI_API_KEY: 'sk-local',
      ANTHROPIC_BASE_URL: anthropic.baseURL,
      ANTHROPIC_API_KEY: 'sk-ant-local',
      GOOGLE_GEMINI_BASE_URL: gemini.baseUrl,
      GEMINI_API_KEY: 'local',
    }
    await promisify(execFile)(process.execPath, [exampleRunner, `${scratch}results.json`, ...files], { cwd: scratch, env })
    outcomes = JSON.parse(await readFile(`${scratch}results.json`, 'utf8'))
  }, 60_000)
  afterAll(async () => {
    await Promise.all([openai?.close(), anthropic?.close(), gemini?.close()])
    await rm(scratch, { recursive: true, force: true })
  })

  it('has an example in every library package', () => {
    expect(new Set(examples.map(([dir]) => dir))).toEqual(new Set(['ai-sdk', 'anthropic', 'core', 'gemini', 'langchain', 'openai']))
  })

  it.for(examples.map(([dir], index) => [dir, index] as const))('packages/%s/README.md example %i runs', ([dir, index]) => {
    const { stdout, error, exitCode } = outcomes[index]!
    expect(error, `packages/${dir}/README.md's example threw`).toBeUndefined()
    expect(exitCode ?? 0).toBe(0)
    // Every example ends by printing the user's status: one policy, with what the call used.
    expect(stdout).toMatch(/used: [1-9]/)
  })
})
