import { defineConfig } from 'tsup'

// An executable, not a library: one ESM file with a shebang; its dependencies stay installed ones.
export default defineConfig({
  entry: { cli: 'src/cli.ts' },
  format: ['esm'],
  target: 'node22',
  clean: true,
  // No source map: it would point at src/, which the tarball does not carry.
  sourcemap: false,
  banner: { js: '#!/usr/bin/env node' },
})
