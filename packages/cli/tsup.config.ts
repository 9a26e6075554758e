import { defineConfig } from 'tsup'

// An executable, not a library: one ESM file with a shebang; its dependencies stay installed ones.
export default defineConfig({
  entry: { cli: 'src/cli.ts' },
  format: ['esm'],
  target: 'node22',
  clean: true,
  sourcemap: true,
  banner: { js: '#!/usr/bin/env node' },
})
