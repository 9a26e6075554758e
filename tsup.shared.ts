import { defineConfig, type Options } from 'tsup'

/**
 * The build every published package shares: ESM + CJS + .d.ts. No source maps: they would point at
 * `src/`, which the tarball does not carry, and they were most of its size.
 */
export function packageBuild(options: { entry: Options['entry']; target: 'node20' | 'node22'; noExternal?: string[] }) {
  return defineConfig({ format: ['esm', 'cjs'], dts: true, clean: true, sourcemap: false, ...options })
}
