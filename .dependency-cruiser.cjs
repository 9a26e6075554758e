// The layers of @tokenquota/core, checked by `npm run lint:layers` (part of `npm test`).
// This list is the one place the order is written: a folder may import its own files and the
// folders of the layers before it, never a later layer nor another folder of its own layer.
// Type-only imports count too: a type cycle is still a cycle to read through.
const layers = [
  ['shared'], // the vocabulary every layer speaks: types, errors, usage, model globs
  ['estimate', 'price'], // prompt-token estimates; prices and money units
  ['store'], // the store protocol and the stores (memory, Lua/Redis/Upstash, synced)
  ['policy'], // policy types, validation, windows, charge arithmetic
  ['plan'], // pure: context + policies + request -> counters, violations, decisions
  ['engine'], // createTokenQuota: wires planner, store and events
  ['adapter'], // the kit every adapter package uses
  ['reports', 'otel', 'config', 'testing'], // add-ons behind their own subpaths
]
// The entry points (src/index.ts, redis.ts, upstash.ts) sit above every layer.

const src = '^packages/core/src/'
const anyOf = (folders) => `${src}(${folders.join('|')})/`

const layerRules = layers.map((layer, index) => {
  const later = layers.slice(index + 1).flat()
  return layer.map((folder) => {
    const forbidden = [...later, ...layer.filter((peer) => peer !== folder)]
    return {
      name: `layer-${folder}`,
      comment: `${folder}/ may import only ${layers.slice(0, index).flat().join(', ') || 'itself'} (see .dependency-cruiser.cjs)`,
      severity: 'error',
      from: { path: `${src}${folder}/` },
      to: { path: forbidden.length > 0 ? [anyOf(forbidden), `${src}[^/]+\\.ts$`] : `${src}[^/]+\\.ts$` },
    }
  })
})

const folders = layers.flat()

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...layerRules.flat(),
    {
      name: 'no-circular',
      comment: 'No import cycle in any package, type-only ones included',
      severity: 'error',
      from: { path: '^packages/[^/]+/src/' },
      to: { circular: true },
    },
    {
      name: 'layer-unknown',
      comment: 'Every folder of packages/core/src has a place in the layer list of .dependency-cruiser.cjs',
      severity: 'error',
      from: { path: src, pathNot: [anyOf(folders), `${src}[^/]+\\.ts$`] },
      to: {},
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'packages/core/tsconfig.json' },
    exclude: { path: ['\\.test\\.ts$', '\\.test-d\\.ts$', '__fixtures__', '/dist/', 'node_modules'] },
    doNotFollow: { path: 'node_modules' },
  },
}
