import { defineConfig } from 'tsup'

export default defineConfig({
  entry: { index: 'src/index.ts', redis: 'src/redis.ts', upstash: 'src/upstash.ts', 'testing/index': 'src/testing/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  // p-queue is ESM-only; bundling it keeps the CommonJS build free of ESM interop.
  noExternal: ['p-queue'],
})
