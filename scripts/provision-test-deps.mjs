#!/usr/bin/env node
// Runs before `npm test` (the `pretest` script): makes sure the one system program the tests need,
// `redis-server`, is on the PATH. Missing, it is installed with the system's package manager where
// that can be done without asking (apt on Debian/Ubuntu, as root or through sudo -n); otherwise the
// run stops here with the one command to type, instead of failing deep inside a Redis test.
//
// The dashboard test's browser comes from npm (@sparticuz/chromium) compressed: it is unpacked here,
// once per install, so that the test run does not pay it (~2.4 CPU-s); the test unpacks it if it must.
// So is the embedded Postgres's cluster (initdb, 1–2 CPU-s): each run copies it; a run makes it if it must.
//
// TOKENQUOTA_NO_INSTALL=1 only checks, never installs or unpacks (the script's own test uses it).
import { spawnSync } from 'node:child_process'
import { platform } from 'node:os'

/** Whether `command` runs (found on the PATH and executable). */
function runs(command, args = ['--version']) {
  const result = spawnSync(command, args, { stdio: 'ignore' })
  return result.error === undefined && result.status === 0
}

/** The command a person should run on this system to get redis-server. */
function manualInstallHint() {
  if (platform() === 'darwin') return 'brew install redis'
  if (runs('apt-get')) return 'sudo apt-get install -y redis-server'
  if (runs('dnf')) return 'sudo dnf install -y redis'
  if (runs('apk', ['--version'])) return 'sudo apk add redis'
  if (runs('pacman', ['--version'])) return 'sudo pacman -S redis'
  return 'install Redis 7 (https://redis.io/docs/latest/operating-systems/) so that redis-server is on the PATH'
}

/** apt-get as root, or through passwordless sudo; `undefined` when neither is possible. */
function aptPrefix() {
  if (!runs('apt-get')) return undefined
  if (process.getuid?.() === 0) return []
  if (runs('sudo', ['-n', 'true'])) return ['sudo', '-n']
  return undefined
}

function installWithApt(prefix) {
  const run = (args) => {
    const [command, ...rest] = [...prefix, ...args]
    return spawnSync(command, rest, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0
  }
  console.log('provision: redis-server is missing; installing it with apt-get (Debian package redis-server)…')
  // The package lists may be missing on a fresh machine; update them only if the install needs it.
  return (
    run(['apt-get', 'install', '-y', '-qq', 'redis-server']) || (run(['apt-get', 'update', '-qq']) && run(['apt-get', 'install', '-y', '-qq', 'redis-server']))
  )
}

function main() {
  if (runs('redis-server')) return 0
  const mayInstall = process.env.TOKENQUOTA_NO_INSTALL !== '1'
  const prefix = mayInstall ? aptPrefix() : undefined
  if (prefix && installWithApt(prefix) && runs('redis-server')) {
    console.log('provision: redis-server installed.')
    return 0
  }
  console.error(
    [
      'provision: the Redis tests need `redis-server` on the PATH, and it could not be installed automatically.',
      `Run this once, then \`npm test\` again:\n\n    ${manualInstallHint()}\n`,
      '(The tests start their own servers on free ports with persistence off; no Redis service needs to run.)',
    ].join('\n'),
  )
  return 1
}

/** Unpacks the dashboard test's browser into node_modules/.cache, unless an earlier run did. */
async function unpackBrowser() {
  const { bundledChromium } = await import('../examples/chatbot-server/bundled-chromium.ts')
  if ((await bundledChromium()).unpacked) console.log("provision: unpacked the dashboard test's Chromium into node_modules/.cache.")
}

/** Makes the Postgres tests' initdb template in node_modules/.cache, unless an earlier run did. */
async function makePostgresTemplate() {
  const { clusterTemplate } = await import('../packages/test-support/src/postgres/cluster-template.ts')
  if ((await clusterTemplate()).made) console.log("provision: made the Postgres tests' cluster (initdb) into node_modules/.cache.")
}

process.exitCode = main()
if (process.exitCode === 0 && process.env.TOKENQUOTA_NO_INSTALL !== '1') await Promise.all([unpackBrowser(), makePostgresTemplate()])
