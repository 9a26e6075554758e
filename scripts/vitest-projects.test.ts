import { globSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { TestProjectInlineConfiguration } from 'vitest/config'
import { describe, expect, it } from 'vitest'
import config, { startsProcesses } from '../vitest.config.js'

// The shape of the Vitest run that keeps it fast (#28): unit tests and the integration tests that
// start only servers they stop share workers, what starts processes that outlive their call keeps a
// worker per file, and every test file still runs where it should.
const repository = fileURLToPath(new URL('..', import.meta.url))
const projects = (config.test?.projects ?? []) as TestProjectInlineConfiguration[]

interface Project {
  readonly name: string
  readonly isolate: boolean
  readonly setupFiles: readonly string[]
  /** Its test files, relative to the repository. */
  readonly files: readonly string[]
}

/** Installed packages (an example's own node_modules): not the repository's tests. */
const outsideSources = (name: string) => name === 'node_modules'

function filesOf(test: NonNullable<TestProjectInlineConfiguration['test']>): string[] {
  const root = join(repository, test.root ?? '.')
  const excluded = new Set(globSync(test.exclude ?? [], { cwd: root, exclude: outsideSources }))
  return globSync(test.include ?? [], { cwd: root, exclude: outsideSources })
    .filter((file) => !excluded.has(file))
    .map((file) => join(test.root ?? '.', file).replace(/^\.\//, ''))
}

const resolved: Project[] = projects.map(({ test = {} }) => ({
  name: test.name as string,
  isolate: test.isolate ?? true,
  setupFiles: [test.setupFiles ?? []].flat(),
  files: filesOf(test),
}))
const everyTestFile = globSync(['packages/*/src/**/*.test.ts', 'examples/*/**/*.test.ts', 'scripts/*.test.ts'], { cwd: repository, exclude: outsideSources })
const shared = resolved.filter((project) => !project.isolate)
const integrationFile = /\.int\.test\.ts$|^(examples|scripts)\//

describe('the Vitest projects', () => {
  it('run every test file of the repository', () => {
    const run = new Set(resolved.flatMap((project) => project.files))
    expect(everyTestFile.length).toBeGreaterThan(50)
    expect(everyTestFile.filter((file) => !run.has(file))).toEqual([])
  })

  it('share workers for the unit tests of every package with unit tests, each put back after each file', () => {
    const unitFiles = everyTestFile.filter((file) => !integrationFile.test(file))
    const inShared = new Set(shared.flatMap((project) => project.files))
    // Only the files listed as needing a fresh module graph run isolated.
    expect(unitFiles.filter((file) => !inShared.has(file))).toEqual(['packages/core/src/engine/context-scope.test.ts'])
    for (const project of shared)
      expect(
        project.setupFiles.some((file) => file.endsWith('shared-worker.ts')),
        project.name,
      ).toBe(true)
  })

  it('keep a worker per file for what starts processes that outlive their call or browsers; integration files that share one start only servers they stop and processes they await', () => {
    const sharedIntegration = shared.flatMap((project) => project.files).filter((file) => integrationFile.test(file))
    expect(sharedIntegration).toContain('packages/cli/src/usage.int.test.ts')
    expect(sharedIntegration).toContain('packages/cli/src/cli.int.test.ts') // the bin, awaited
    expect(sharedIntegration).toContain('packages/cli/src/output.int.test.ts') // the bin with a reader that stops reading, awaited
    expect(sharedIntegration).toContain('scripts/example-scripts.test.ts') // the examples' scripts, awaited
    expect(sharedIntegration).toContain('scripts/public-surface.test.ts')
    for (const file of sharedIntegration) {
      const text = readFileSync(join(repository, file), 'utf8')
      expect(startsProcesses.test(text), `${file} starts processes: it needs a worker of its own`).toBe(false)
      if (/\bstart\w*Server\(/.test(text)) expect(text, `${file} stops the servers it starts`).toMatch(/\.(kill|close)\(\)/)
    }
    const isolated = resolved.filter((project) => project.isolate).flatMap((project) => project.files)
    expect(isolated).toContain('packages/core/src/store/postgres-multiprocess.int.test.ts')
    expect(isolated).toContain('packages/core/src/store/redis-multiprocess.int.test.ts') // `spawn`: app processes beside the test
    expect(isolated).toContain('examples/chatbot-server/dashboard.test.ts') // Chromium
    expect(isolated).toContain('examples/edge-chat/edge-chat.test.ts') // workerd
  })

  it('tell a process run to its end by its call from one that runs beside the tests', () => {
    // Built from parts: written out, the lines that start processes would put this file among them.
    const call = (name: string) => `const child = ${name}(process.execPath, [script])`
    expect(startsProcesses.test(`const { stdout } = await promisify(execFile)(process.execPath, [script])`)).toBe(false)
    expect(startsProcesses.test(call('spawnSync'))).toBe(false)
    expect(startsProcesses.test('const [, section] = /x/.exec(text)')).toBe(false)
    for (const name of ['spawn', 'fork', 'exec']) expect(startsProcesses.test(call(name)), name).toBe(true)
    expect(startsProcesses.test(`import { chromium } from '${'playwright'}-core'`)).toBe(true)
  })

  it('leave no module mock in a shared worker: a vi.mock there would miss modules an earlier file loaded', () => {
    const mocking = shared
      .flatMap((project) => project.files)
      .filter((file) => /\bvi\.(mock|doMock|resetModules)\(/.test(readFileSync(join(repository, file), 'utf8')))
    expect(mocking).toEqual([])
  })

  it('run each adapter on its newest SDK and on older ones', () => {
    const aliased = (project: TestProjectInlineConfiguration) => Object.keys((project.resolve?.alias ?? {}) as Record<string, string>)
    const mainTests = {
      openai: 'with-token-quota',
      anthropic: 'with-token-quota',
      gemini: 'with-token-quota',
      langchain: 'token-quota-callback-handler',
      'ai-sdk': 'token-quota-middleware',
    }
    for (const [adapter, test] of Object.entries(mainTests)) {
      const file = `packages/${adapter}/src/${test}.test.ts`
      const runs = projects.filter((_, index) => resolved[index]!.files.includes(file))
      // openai's tests loop over its versions themselves; the others run once per SDK version.
      expect(runs.length, adapter).toBeGreaterThanOrEqual(adapter === 'openai' ? 1 : 2)
      expect(runs.filter((project) => aliased(project).length > 0).length, adapter).toBe(runs.length - 1)
    }
  })
})
