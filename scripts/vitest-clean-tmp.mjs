#!/usr/bin/env node
// Runs `vitest run` (with the arguments given) with the temporary folder of every process it starts
// — test workers, the CLI, servers, browsers — moved to a fresh folder of its own. The run fails
// when the tests leave anything behind in it (named, so the leak can be fixed); the folder is
// removed either way, so no run leaves temporary files in the system's temporary folder.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

// Caches kept in the temporary folder by design, expected and removed with the rest: Node's compile
// cache, and what @sparticuz/chromium (the dashboard test's browser) unpacks there to reuse.
const knownCaches = new Set([
  'node-compile-cache',
  'al2023',
  'chromium',
  'fonts',
  'libEGL.so',
  'libGLESv2.so',
  'libvk_swiftshader.so',
  'libvulkan.so.1',
  'locales',
  'vk_swiftshader_icd.json',
])
const folder = mkdtempSync(join(tmpdir(), 'tokenquota-run-'))
const env = { ...process.env, TMPDIR: folder, TMP: folder, TEMP: folder }
const result = spawnSync('npx', ['vitest', 'run', ...process.argv.slice(2)], { stdio: 'inherit', env })
const left = readdirSync(folder).filter((name) => !knownCaches.has(name))
rmSync(folder, { recursive: true, force: true })
if (left.length > 0) {
  console.error(`\nThe tests left ${left.length} temporary file(s) or folder(s) behind (removed now): ${left.join(', ')}`)
  process.exit(result.status || 1)
}
process.exit(result.status ?? 1)
