#!/usr/bin/env node
// `npm run test:year-ahead`: the whole of `npm test` with the calendar moved a year (366 days)
// ahead, in this process and every Node process the tests start (the CLI, workers, servers), so
// a test that reads today's date, or an example with a literal date, fails here today instead of
// on main in a year. A day count can be given: `npm run test:year-ahead -- 800`.
// (Debian's libfaketime would also move redis-server's clock, and hangs it; Redis only ever sees
// the times the library sends, so Node is the only clock to move.)
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const days = Number(process.argv[2] ?? 366)
if (!Number.isInteger(days)) {
  console.error(`Expected a whole number of days, got "${process.argv[2]}"`)
  process.exit(2)
}
const preload = fileURLToPath(new URL('./shift-clock.mjs', import.meta.url))
const env = {
  ...process.env,
  TOKENQUOTA_CLOCK_SHIFT_MS: String(days * 86_400_000),
  NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${JSON.stringify(preload)}`.trim(),
}
console.log(`test-a-year-ahead: running npm test with Date moved ${days} days ahead (${new Date(Date.now() + days * 86_400_000).toISOString()})`)
const result = spawnSync('npm', ['test'], { stdio: 'inherit', env })
process.exit(result.status ?? 1)
