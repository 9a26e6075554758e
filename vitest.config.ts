import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
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
  '@tokenquota/core': source('./packages/core/src/index.ts'),
  '@tokenquota/openai': source('./packages/openai/src/index.ts'),
  '@tokenquota/test-support/redis': source('./packages/test-support/src/redis/index.ts'),
  '@tokenquota/test-support': source('./packages/test-support/src/index.ts'),
}

function versionOf(root: string, aliasPackage: string): string {
  const manifest = [`${root}/node_modules/${aliasPackage}/package.json`, `./node_modules/${aliasPackage}/package.json`].map(source).find(existsSync)
  return (JSON.parse(readFileSync(manifest ?? source(`./node_modules/${aliasPackage}/package.json`), 'utf8')) as { version: string }).version
}

/**
 * An adapter's tests once more, with its SDKs resolved to other versions: npm aliases among the
 * adapter's devDependencies (`"anthropic-sdk-floor": "npm:@anthropic-ai/sdk@0.72.0"`), given as
 * `{ sdk: alias }`. Each adapter runs on the lowest version its peer range allows and on the newest
 * published one. `exclude`: test files that do not depend on the SDK's version (run once).
 * `inline`: packages built on the SDK, bundled by vitest so that they too import the aliased version
 * (one copy of it, as in an install of that version).
 */
function onSdkVersions(
  adapter: string,
  sdks: Record<string, string>,
  { exclude = [], inline = [] }: { exclude?: string[]; inline?: RegExp[] } = {},
): TestProjectInlineConfiguration {
  const root = `./packages/${adapter}`
  const versions = Object.entries(sdks).map(([sdk, aliasPackage]) => `${sdk} ${versionOf(root, aliasPackage)}`)
  return {
    extends: true,
    resolve: { alias: sdks },
    test: { name: `${adapter} (${versions.join(', ')})`, root, include: ['src/**/*.test.ts'], exclude, server: { deps: { inline } } },
  }
}

// LangChain's packages built on @langchain/core, bundled so that they import the aliased version.
const langchainInline = [/@langchain\//, /\/langchain\//]

const config = defineConfig({
  resolve: { alias },
  test: {
    // Generous limits: a loaded 2-core machine can take several seconds to start a redis-server or
    // a CLI process; a hung test still fails, and no test depends on these being short.
    testTimeout: 20_000,
    hookTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'core',
          root: './packages/core',
          include: ['src/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'openai',
          root: './packages/openai',
          include: ['src/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'ai-sdk',
          root: './packages/ai-sdk',
          include: ['src/**/*.test.ts'],
        },
      },
      // The AI SDK 5's providers are @ai-sdk/*@2 (LanguageModelV2).
      onSdkVersions('ai-sdk', { ai: 'ai-floor', '@ai-sdk/openai': 'ai-sdk-openai-floor' }, { exclude: ['src/dense-prompts.test.ts'] }),
      {
        extends: true,
        test: {
          name: 'anthropic',
          root: './packages/anthropic',
          include: ['src/**/*.test.ts'],
        },
      },
      // The estimator's corpus tests do not depend on the SDK: they run once, on the newest.
      onSdkVersions('anthropic', { '@anthropic-ai/sdk': 'anthropic-sdk-floor' }, { exclude: ['src/dense-prompts.test.ts'] }),
      onSdkVersions('anthropic', { '@anthropic-ai/sdk': 'anthropic-v0' }, { exclude: ['src/dense-prompts.test.ts'] }),
      {
        extends: true,
        test: {
          name: 'gemini',
          root: './packages/gemini',
          include: ['src/**/*.test.ts'],
        },
      },
      onSdkVersions('gemini', { '@google/genai': 'genai-floor', '@google/generative-ai': 'generative-ai-floor' }, { exclude: ['src/dense-prompts.test.ts'] }),
      {
        extends: true,
        test: {
          name: 'langchain',
          root: './packages/langchain',
          include: ['src/**/*.test.ts'],
          // LangChain logs each quota refusal it rethrows: those expected lines are dropped, nothing else.
          setupFiles: [source('./packages/test-support/src/expected-handler-errors.ts')],
        },
      },
      // LangChain's integrations (@langchain/openai, …) need @langchain/core 1.3.4 or later.
      onSdkVersions('langchain', { '@langchain/core': 'langchain-core-floor' }, { exclude: ['src/dense-prompts.test.ts'], inline: langchainInline }),
      {
        extends: true,
        test: {
          name: 'cli',
          root: './packages/cli',
          include: ['src/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'examples',
          root: './examples',
          include: ['*/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'repository',
          root: './scripts',
          include: ['*.test.ts'],
        },
      },
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
    onSdkVersions(adapter, sdks, { exclude: ['src/dense-prompts.test.ts'], inline: adapter === 'langchain' ? langchainInline : [] }),
  )
}

export default config
