#!/usr/bin/env node
// Runs `vitest run` (with the arguments given) with the temporary folder of every process it starts
// — test workers, the CLI, servers, browsers — moved to a fresh folder of its own. The run fails
// when the tests leave anything behind in it (named, so the leak can be fixed); the folder is
// removed either way, so no run leaves temporary files in the system's temporary folder.
import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

// Node's compile cache (below) is kept in the temporary folder by design, expected and removed with the rest.
const knownCaches = new Set(['node-compile-cache'])
const folder = mkdtempSync(join(tmpdir(), 'tokenquota-run-'))
// As root, the embedded Postgres runs as a `postgres` user that must reach its files in here (its
// password file, its data folder): it may pass through the folder, never list it.
chmodSync(folder, 0o711)
// Node's compile cache for every Node process of the run (Vitest, its workers, the CLI, examples, app
// workers): each process after the first reads the modules it shares with others (Vitest, the SDKs,
// the built packages) compiled instead of compiling them again. It changes no behaviour, only
// start-up work: 142 → 134 CPU-s for the whole run, with the cache empty at the start as in CI.
const env = { ...process.env, TMPDIR: folder, TMP: folder, TEMP: folder, NODE_COMPILE_CACHE: join(folder, 'node-compile-cache') }
// Vitest exits 0 when a global setup fails (e.g. a server that cannot start) before any test ran:
// the run's JSON report says whether tests ran and passed, so such a run fails here.
const results = join(folder, 'vitest-results.json')
const args = process.argv.slice(2)
const reporters = args.some((arg) => arg.startsWith('--reporter')) ? [] : ['--reporter=default']
const result = spawnSync('npx', ['vitest', 'run', ...args, ...reporters, '--reporter=json', `--outputFile.json=${results}`], { stdio: 'inherit', env })
const report = existsSync(results) ? JSON.parse(readFileSync(results, 'utf8')) : undefined
const left = readdirSync(folder).filter((name) => !knownCaches.has(name) && name !== 'vitest-results.json')
rmSync(folder, { recursive: true, force: true })
if (left.length > 0) {
  console.error(`\nThe tests left ${left.length} temporary file(s) or folder(s) behind (removed now): ${left.join(', ')}`)
  process.exit(result.status || 1)
}
if (result.status === 0 && (report === undefined || report.numTotalTests === 0 || report.success !== true)) {
  console.error('\nVitest exited 0 but ran no test or reported a failure (a global setup that failed?): failing the run')
  process.exit(1)
}
process.exit(result.status ?? 1)
