import { packageBuild } from '../../tsup.shared.js'

export default packageBuild({
  entry: {
    index: 'src/index.ts',
    'adapter/index': 'src/adapter/index.ts',
    'store/index': 'src/store/index.ts',
    redis: 'src/redis.ts',
    upstash: 'src/upstash.ts',
    postgres: 'src/postgres.ts',
    'config/index': 'src/config/index.ts',
    'reports/index': 'src/reports/index.ts',
    'otel/index': 'src/otel/index.ts',
    'testing/index': 'src/testing/index.ts',
  },
  target: 'node20',
  // p-queue and @noble/hashes are ESM-only; bundling them keeps the CommonJS build free of ESM interop.
  noExternal: ['p-queue', '@noble/hashes'],
})
