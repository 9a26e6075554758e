import { defineConfig } from 'tsup'

// An executable, not a library: ESM with a shebang, cli.js and the chunks it imports when a command
// runs (program.ts); its dependencies stay installed ones.
export default defineConfig({
  entry: { cli: 'src/cli.ts' },
  format: ['esm'],
  target: 'node22',
  clean: true,
  // No source map: it would point at src/, which the tarball does not carry.
  sourcemap: false,
  banner: { js: '#!/usr/bin/env node' },
})
