import { existsSync, globSync, readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { heavyFirst } from './packages/test-support/src/heavy-first-sequencer.js'
import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config'

// Tests run against the sources of sibling packages, not their last build.
const source = (path: string) => fileURLToPath(new URL(path, import.meta.url))
const alias = {
  '@tokenquota/core/testing': source('./packages/core/src/testing/index.ts'),
  '@tokenquota/core/adapter': source('./packages/core/src/adapter/index.ts'),
  '@tokenquota/core/store': source('./packages/core/src/store/index.ts'),
  '@tokenquota/core/config': source('./packages/core/src/config/index.ts'),
  '@tokenquota/core/reports': source('./packages/core/src/reports/index.ts'),
  '@tokenquota/core/upstash': source('./packages/core/src/upstash.ts'),
  '@tokenquota/core/redis': source('./packages/core/src/redis.ts'),
  '@tokenquota/core/postgres': source('./packages/core/src/postgres.ts'),
  '@tokenquota/core': source('./packages/core/src/index.ts'),
  '@tokenquota/openai': source('./packages/openai/src/index.ts'),
  '@tokenquota/test-support/redis': source('./packages/test-support/src/redis/index.ts'),
  '@tokenquota/test-support/postgres': source('./packages/test-support/src/postgres/index.ts'),
  '@tokenquota/test-support/tokens': source('./packages/test-support/src/tokens/index.ts'),
  '@tokenquota/test-support/reference-model': source('./packages/test-support/src/engine-model-check.ts'),
  '@tokenquota/test-support': source('./packages/test-support/src/index.ts'),
}

function versionOf(root: string, aliasPackage: string): string {
  const manifest = [`${root}/node_modules/${aliasPackage}/package.json`, `./node_modules/${aliasPackage}/package.json`].map(source).find(existsSync)
  return (JSON.parse(readFileSync(manifest ?? source(`./node_modules/${aliasPackage}/package.json`), 'utf8')) as { version: string }).version
}

const sharedWorker = source('./packages/test-support/src/shared-worker.ts')
const sdkAliases = source('./packages/test-support/src/sdk-aliases.ts')

type UnitOptions = { isolated?: string[]; exclude?: string[]; setupFiles?: string[] } & TestProjectInlineConfiguration['test']

/**
 * Unit tests (`src/**\/*.test.ts`, not `*.int.test.ts`) of the packages named, in one project: no
 * process, server or file of their own beyond an in-process msw server, so their files share
 * workers one after another (`isolate: false`: one start-up and one module graph per worker, not
 * per file or per package — core's modules load once for every adapter's tests), and a setup file
 * puts back what a file changed in the worker's globals. The workers are threads: these files
 * change nothing process-wide (cwd, signals, exit), and a thread spares the main process a spawn and
 * the pipe that carries every transformed module to a child. `isolated` (paths from the repository):
 * files that need a fresh module graph (a `vi.mock` of a module others import), run in a project
 * of their own. `exclude`: paths from a package's folder, excluded in each package.
 */
function unit(name: string, packages: string[], { isolated = [], exclude = [], setupFiles = [], ...test }: UnitOptions = {}): TestProjectInlineConfiguration[] {
  const inPackages = (paths: string[]) => packages.flatMap((name) => paths.map((path) => `packages/${name}/${path}`))
  const shared: TestProjectInlineConfiguration = {
    extends: true,
    test: {
      ...test,
      name,
      include: inPackages(['src/**/*.test.ts']),
      exclude: [...inPackages(['src/**/*.int.test.ts', ...exclude]), ...isolated],
      isolate: false,
      pool: 'threads',
      setupFiles: [...setupFiles, sharedWorker],
    },
  }
  if (isolated.length === 0) return [shared]
  return [shared, { extends: true, test: { ...test, name: `${name} (isolated)`, include: isolated, pool: 'threads', setupFiles } }]
}

/**
 * Adapters' unit tests once more, with their SDKs resolved to other versions: npm aliases among each
 * adapter's devDependencies (`"anthropic-sdk-floor": "npm:@anthropic-ai/sdk@0.72.0"`), given per
 * adapter as `{ sdk: alias }`. Each adapter runs on the lowest version its peer range allows and on
 * the newest published one; adapters whose SDKs differ share one project (one start-up for all).
 * `exclude`: test files that do not depend on the SDK's version (run once). Packages built on an SDK
 * (LangChain's integrations) import the aliased version too, through a resolve hook in the workers
 * (test-support `sdk-aliases.ts`): one copy of it, as in an install of that version.
 */
function onSdkVersions(
  adapters: Record<string, Record<string, string>>,
  { exclude = [], setupFiles = [] }: { exclude?: string[]; setupFiles?: string[] } = {},
): TestProjectInlineConfiguration {
  const entries = Object.entries(adapters)
  const versions = entries.flatMap(([adapter, sdks]) =>
    Object.entries(sdks).map(([sdk, aliasPackage]) => `${sdk} ${versionOf(`./packages/${adapter}`, aliasPackage)}`),
  )
  const aliases: Record<string, string> = Object.assign({}, ...entries.map(([, sdks]) => sdks))
  // No comma in a project's name: `vitest --project` splits its value at commas.
  const [project] = unit(
    `unit (${versions.join('; ')})`,
    entries.map(([adapter]) => adapter),
    { exclude, setupFiles: [sdkAliases, ...setupFiles], env: { TOKENQUOTA_SDK_ALIASES: JSON.stringify(aliases) } },
  )
  return { ...project!, resolve: { alias: aliases } }
}

/**
 * Tests that start processes that run beside their tests — app workers, Chromium, workerd, a bin
 * they must stop themselves — each file in a fresh worker, so one file's module state never meets
 * another's. A file's tests marked concurrent run at most one per core at a time: their processes
 * start side by side without stretching each test past its timeout on a busy machine.
 */
function integration(name: string, include: string[], globalSetup: string[] = []): TestProjectInlineConfiguration {
  return { extends: true, test: { name, include, maxConcurrency: availableParallelism(), globalSetup } }
}

// One embedded Postgres per run, for the projects whose tests use PostgresStore (initdb once).
const postgres = [source('./packages/test-support/src/postgres/global-setup.ts')]

/**
 * A test file that starts processes which outlive the call that started them (`spawn`, `fork`,
 * `exec`), a browser or workerd. A process run to its end by the call that starts it (an awaited
 * `execFile`: the CLI's bin through its harness, an example, `spawnSync`) is not one of them.
 */
export const startsProcesses = /(?<![.\w])(spawn|fork|exec)\(|playwright-core|miniflare/

/**
 * Integration tests whose files start no process that outlives its call, only servers they stop in
 * their own hooks (a redis-server per file) and processes each test awaits to exit (the CLI's bin,
 * the examples): they share workers one after another, as unit tests do, with the same setup file
 * putting back what a file changed in the worker's globals. A fresh worker and module graph per file
 * cost more than most of these files' tests (the CLI's in-process files, at load 16 on 2 cores:
 * 36–55 s → 22 s; the eight examples that run a script, ~16.5 → ~13.5 CPU-s). The files that start
 * processes (`startsProcesses`) keep a worker each, in a project of their own.
 */
function sharedIntegration(name: string, include: string[], globalSetup: string[] = []): TestProjectInlineConfiguration[] {
  const files = globSync(include, { cwd: source('./'), exclude: (name) => name === 'node_modules' })
  const spawning = files.filter((file) => startsProcesses.test(readFileSync(source(`./${file}`), 'utf8')))
  const shared: TestProjectInlineConfiguration = {
    extends: true,
    test: {
      name,
      include,
      exclude: [...spawning, '**/node_modules/**'],
      isolate: false,
      setupFiles: [sharedWorker],
      maxConcurrency: availableParallelism(),
      globalSetup,
    },
  }
  return spawning.length === 0 ? [shared] : [shared, integration(`${name} (processes)`, spawning, globalSetup)]
}

// LangChain logs each quota refusal it rethrows: those expected lines are dropped, nothing else.
const langchainSetup = [source('./packages/test-support/src/expected-handler-errors.ts')]

const config = defineConfig({
  resolve: { alias },
  test: {
    // Generous limits: a loaded 2-core machine can take several seconds to start a redis-server or
    // a CLI process; a hung test still fails, and no test depends on these being short.
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Two files at a time even on 2 cores (Vitest's default is cores − 1, one here): most files wait
    // on processes they start (redis-server, the CLI, examples), so a second worker fills the gaps.
    // Measured idle on 2 cores: 205 s → 134–139 s (a third worker, measured again after the CPU cuts
    // of #28: 84 → 83 s, the run is CPU-bound). TOKENQUOTA_TEST_WORKERS overrides it.
    maxWorkers: Number(process.env.TOKENQUOTA_TEST_WORKERS) || 2,
    sequence: {
      sequencer: heavyFirst(['core (integration) (processes)', 'examples (processes)', 'repository', 'examples', 'core (integration)', 'cli'], ['unit']),
    },
    // Projects name their files from the repository and set no `root` (nor `resolve`, but for the older
    // SDKs): such projects share one Vite server, so each module is transformed once per run, not once per
    // project (a fresh clone has no transform cache).
    projects: [
      // A runtime without AsyncLocalStorage: vi.mock('node:async_hooks') needs a fresh module graph.
      // LangChain's setup drops only its own expected log lines: no other package's test logs them.
      ...unit('unit', ['core', 'openai', 'ai-sdk', 'anthropic', 'gemini', 'langchain'], {
        isolated: ['packages/core/src/engine/context-scope.test.ts'],
        setupFiles: langchainSetup,
      }),
      // The older SDKs of the adapters whose SDK aliases do not collide, in one project. The AI SDK 5's
      // providers are @ai-sdk/*@2 (LanguageModelV2); LangChain's integrations (@langchain/openai, …)
      // need @langchain/core 1.3.4 or later. The estimators' corpus tests (dense-prompts) do not
      // depend on the SDK: they run once, on the newest.
      onSdkVersions(
        {
          'ai-sdk': { ai: 'ai-floor', '@ai-sdk/openai': 'ai-sdk-openai-floor' },
          anthropic: { '@anthropic-ai/sdk': 'anthropic-sdk-floor' },
          gemini: { '@google/genai': 'genai-floor', '@google/generative-ai': 'generative-ai-floor' },
          langchain: { '@langchain/core': 'langchain-core-floor' },
        },
        { exclude: ['src/dense-prompts.test.ts'], setupFiles: langchainSetup },
      ),
      onSdkVersions({ anthropic: { '@anthropic-ai/sdk': 'anthropic-v0' } }, { exclude: ['src/dense-prompts.test.ts'] }),
      ...sharedIntegration('core (integration)', ['packages/core/src/**/*.int.test.ts'], postgres),
      ...sharedIntegration('cli', ['packages/cli/src/**/*.test.ts']),
      ...sharedIntegration('examples', ['examples/*/**/*.test.ts']),
      // readme-examples.test.ts runs the README's PostgresStore example.
      ...sharedIntegration('repository', ['scripts/*.test.ts'], postgres),
    ],
  },
})

/**
 * `npm run test:latest` (scripts/test-latest.mjs) links the newest published SDKs into node_modules
 * and names them in TOKENQUOTA_LATEST_SDKS, `{ adapter: { sdk: link } }`: then only those adapters'
 * suites run, on them.
 */
const latestSdks = process.env.TOKENQUOTA_LATEST_SDKS
if (latestSdks && config.test) {
  config.test.projects = Object.entries(JSON.parse(latestSdks) as Record<string, Record<string, string>>).map(([adapter, sdks]) =>
    onSdkVersions(
      { [adapter]: sdks },
      {
        exclude: ['src/dense-prompts.test.ts'],
        ...(adapter === 'langchain' ? { setupFiles: langchainSetup } : {}),
      },
    ),
  )
}

export default config
