// npm scripts run on the Node pinned in devDependencies (24). The published packages claim an
// older floor in `engines`; this runs the built packages on the machine's own Node, found on PATH
// outside node_modules, so that claim is tested too.
import { spawnSync } from 'node:child_process'
import { accessSync, constants, readFileSync } from 'node:fs'
import { delimiter, join } from 'node:path'

const candidates = (process.env.PATH ?? '').split(delimiter).filter((dir) => dir && !dir.includes('node_modules'))
const systemNode = candidates
  .map((dir) => join(dir, 'node'))
  .find((path) => {
    try {
      accessSync(path, constants.X_OK)
      return true
    } catch {
      return false
    }
  })
if (!systemNode) {
  console.error('No Node.js found on PATH outside node_modules')
  process.exit(1)
}
const version = spawnSync(systemNode, ['--version'], { encoding: 'utf8' }).stdout.trim()
const { engines } = JSON.parse(readFileSync(new URL('../packages/core/package.json', import.meta.url), 'utf8'))
console.log(`Smoke-testing the built packages on ${systemNode} (${version}); engines: ${engines.node}`)
let failed = false
for (const script of ['smoke-dist.mjs', 'smoke-dist.cjs']) {
  const result = spawnSync(systemNode, [join(import.meta.dirname, script)], { stdio: 'inherit' })
  if (result.status !== 0) failed = true
}
process.exit(failed ? 1 : 0)
