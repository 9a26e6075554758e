#!/usr/bin/env node
// `npm run test:latest`: the adapters' test suites on the SDKs a user installs today. The newest
// published version of each SDK an adapter's tests import is installed into a temporary folder
// (package.json and the lock file are not touched), linked into node_modules as
// `@tokenquota-latest/…`, and `vitest.config.ts` resolves the SDKs to those links (the
// TOKENQUOTA_LATEST_SDKS variable names them). A maintainer runs it before each release; when it
// passes, raising the devDependencies to those versions refreshes the lock (README, "Contributing").
// The links and the folder are removed either way.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const root = join(import.meta.dirname, '..')
const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'))

/** The SDKs each adapter's tests import (its peers, and the provider packages its tests drive it with). */
const adapterSdks = {
  openai: ['openai', 'gpt-tokenizer'],
  anthropic: ['@anthropic-ai/sdk'],
  gemini: ['@google/genai', '@google/generative-ai'],
  langchain: ['@langchain/core', '@langchain/openai', '@langchain/anthropic', 'langchain'],
  'ai-sdk': ['ai', '@ai-sdk/openai'],
}

const linkFolder = join(root, 'node_modules', '@tokenquota-latest')
const linkName = (sdk) => `@tokenquota-latest/${sdk.replace(/^@/, '').replace('/', '__')}`

/** Installs every SDK's `latest` into `folder`; fails loudly when npm does. */
function installLatest(folder) {
  writeFileSync(join(folder, 'package.json'), JSON.stringify({ name: 'tokenquota-latest-sdks', private: true }))
  const sdks = [...new Set(Object.values(adapterSdks).flat())]
  console.log(`Installing the newest ${sdks.join(', ')} …`)
  const npm = spawnSync(
    'npm',
    ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock', '--loglevel=error', ...sdks.map((sdk) => `${sdk}@latest`)],
    {
      cwd: folder,
      stdio: 'inherit',
    },
  )
  if (npm.status !== 0) throw new Error('npm could not install the newest SDKs (see above)')
}

/** Links the installed SDKs into node_modules; prints each one's locked and newest version and the peer range. */
function linkLatest(folder) {
  mkdirSync(linkFolder, { recursive: true })
  for (const [adapter, sdks] of Object.entries(adapterSdks)) {
    const manifest = readJson(join(root, 'packages', adapter, 'package.json'))
    for (const sdk of sdks) {
      const installed = join(folder, 'node_modules', sdk)
      symlinkSync(installed, join(root, 'node_modules', linkName(sdk)), 'dir')
      const locked = [join(root, 'packages', adapter, 'node_modules', sdk), join(root, 'node_modules', sdk)].find((dir) =>
        existsSync(join(dir, 'package.json')),
      )
      const range = manifest.peerDependencies?.[sdk]
      const versions = `${locked ? readJson(join(locked, 'package.json')).version : '—'} in the lock, ${readJson(join(installed, 'package.json')).version} newest`
      console.log(`  ${adapter}: ${sdk} ${versions}${range ? ` (peer range ${range})` : ''}`)
    }
  }
}

function main() {
  const folder = mkdtempSync(join(tmpdir(), 'tokenquota-latest-'))
  try {
    installLatest(folder)
    rmSync(linkFolder, { recursive: true, force: true })
    linkLatest(folder)
    const links = Object.fromEntries(
      Object.entries(adapterSdks).map(([adapter, sdks]) => [adapter, Object.fromEntries(sdks.map((sdk) => [sdk, linkName(sdk)]))]),
    )
    const vitest = spawnSync(process.execPath, [join(root, 'scripts', 'vitest-clean-tmp.mjs'), ...process.argv.slice(2)], {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, TOKENQUOTA_LATEST_SDKS: JSON.stringify(links) },
    })
    return vitest.status ?? 1
  } finally {
    rmSync(linkFolder, { recursive: true, force: true })
    rmSync(folder, { recursive: true, force: true })
  }
}

process.exitCode = main()
