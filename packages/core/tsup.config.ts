import { packageBuild } from '../../tsup.shared.js'

export default packageBuild({
  entry: {
    index: 'src/index.ts',
    'adapter/index': 'src/adapter/index.ts',
    redis: 'src/redis.ts',
    upstash: 'src/upstash.ts',
    otel: 'src/otel-entry.ts',
    'testing/index': 'src/testing/index.ts',
  },
  target: 'node20',
  // p-queue is ESM-only; bundling it keeps the CommonJS build free of ESM interop.
  noExternal: ['p-queue'],
})
