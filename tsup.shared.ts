import { defineConfig, type Options } from 'tsup'

/** The build every published package shares: ESM + CJS + .d.ts, with source maps. */
export function packageBuild(options: { entry: Options['entry']; target: 'node20' | 'node22'; noExternal?: string[] }) {
  return defineConfig({ format: ['esm', 'cjs'], dts: true, clean: true, sourcemap: true, ...options })
}
