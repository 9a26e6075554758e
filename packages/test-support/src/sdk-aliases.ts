import { registerHooks } from 'node:module'

// A vitest setup file for the projects that run adapters on other SDK versions (vitest.config.ts
// `onSdkVersions`). Vite's `resolve.alias` sends the imports of the modules Vite transforms — ours —
// to the aliased SDK; the packages built on an SDK (LangChain's integrations, `langchain`) import it
// through Node, where this resolve hook sends them to the same alias: a test loads one copy of each
// SDK, as an install of that version would, without Vite transforming those packages (~540 modules
// on each fresh clone). TOKENQUOTA_SDK_ALIASES: `{ sdk: alias }`, the project's aliases.
const registered = Symbol.for('tokenquota.test-support.sdk-aliases')
const worker = globalThis as { [registered]?: true }

// Files share the worker (`isolate: false`): the hook is registered once per worker.
if (!worker[registered]) {
  worker[registered] = true
  const aliases = Object.entries(JSON.parse(process.env.TOKENQUOTA_SDK_ALIASES ?? '{}') as Record<string, string>)
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const match = aliases.find(([sdk]) => specifier === sdk || specifier.startsWith(`${sdk}/`))
      return nextResolve(match ? match[1] + specifier.slice(match[0].length) : specifier, context)
    },
  })
}
