// Bundles the app for the edge: `dist/worker.js` (a Cloudflare Worker module) and
// `dist/edge-function.js` (Vercel's edge entry as a service-worker script, for the `edge-runtime`
// sandbox the tests run it in). Only `node:async_hooks` may stay external: any other Node
// built-in reached from the app fails the build.
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const here = (path) => fileURLToPath(new URL(path, import.meta.url))
const common = {
  bundle: true,
  platform: 'neutral',
  target: 'es2022',
  mainFields: ['browser', 'module', 'main'],
  conditions: ['workerd', 'worker', 'edge-light', 'browser', 'import'],
  logLevel: 'error',
  write: true,
}

/** Builds both bundles; resolves with their paths. */
export async function bundleEdgeChat() {
  const worker = here('./dist/worker.js')
  const edgeFunction = here('./dist/edge-function.js')
  await build({ ...common, entryPoints: [here('./src/worker.ts')], outfile: worker, format: 'esm', external: ['node:async_hooks'] })
  await build({
    ...common,
    entryPoints: [here('./src/edge-function.ts')],
    outfile: edgeFunction,
    format: 'iife',
    // Vercel's bundler gives edge code `node:async_hooks` from the runtime's global AsyncLocalStorage.
    alias: { 'node:async_hooks': here('./src/async-hooks-global.ts') },
  })
  return { worker, edgeFunction }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { worker, edgeFunction } = await bundleEdgeChat()
  console.log(`Built ${worker} and ${edgeFunction}`)
}
