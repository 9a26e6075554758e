#!/usr/bin/env node
// What a user gets from npm, checked as they would get it (`npm test` runs this after the build):
// every published package is packed with `npm pack`; each tarball must carry LICENSE, README.md and
// CHANGELOG.md, no source map and no source, and pass publint and @arethetypeswrong/cli under every
// resolution profile (node10 included). The tarballs are then installed into a fresh app in a
// temporary folder outside the monorepo, next to the SDKs they wrap, where TypeScript compiles an
// import of every entry point under `nodenext` (ESM and CommonJS), `bundler` and `commonjs`
// (node10 resolution), and Node loads each one with `import` and with `require`.
// It needs nothing but the npm registry (npm's cache, filled by `npm ci`, usually answers), and
// removes its temporary folder either way.
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { entrySpecifiers, freshAppSources } from './fresh-app-sources.mjs'

const root = join(import.meta.dirname, '..')
const bin = (name) => join(root, 'node_modules', '.bin', name)
const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'))
const started = Date.now()
const seconds = () => `${((Date.now() - started) / 1000).toFixed(0)} s`

/** Runs a command; resolves with its output, rejects with it (and the command) when it fails. */
function run(command, args, cwd) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } })
    let output = ''
    child.stdout.on('data', (chunk) => {
      output += chunk
    })
    child.stderr.on('data', (chunk) => {
      output += chunk
    })
    child.on('error', reject)
    child.on('close', (code) => (code === 0 ? resolve(output) : reject(new Error(`${command} ${args.join(' ')} (exit ${code})\n${output}`))))
  })
}

/** The workspace packages that are published (not `private`), with their manifests. */
function publishedPackages() {
  return readdirSync(join(root, 'packages'))
    .map((name) => ({ dir: join(root, 'packages', name), manifest: readJson(join(root, 'packages', name, 'package.json')) }))
    .filter(({ manifest }) => !manifest.private)
}

/** What must be, and must not be, in a tarball's file list. */
function contentProblems(name, files) {
  const paths = files.map((file) => file.path)
  const problems = ['LICENSE', 'README.md', 'CHANGELOG.md'].filter((file) => !paths.includes(file)).map((file) => `${name}: no ${file} in the tarball`)
  for (const path of paths) {
    if (path.endsWith('.map')) problems.push(`${name}: ships a source map (${path}) whose sources are not shipped`)
    if (path.startsWith('src/')) problems.push(`${name}: ships its source (${path})`)
  }
  if (!readFileSync(join(root, 'LICENSE'), 'utf8').includes('MIT License')) problems.push('LICENSE at the root is not the MIT license')
  return problems
}

/** `npm pack` of one package into `dest`; the tarball's path and the problems found in its file list. */
async function pack({ dir, manifest }, dest) {
  const [info] = JSON.parse(await run('npm', ['pack', '--json', '--pack-destination', dest], dir))
  const problems = contentProblems(manifest.name, info.files)
  if (existsSync(join(dir, 'LICENSE')) && readFileSync(join(dir, 'LICENSE'), 'utf8') !== readFileSync(join(root, 'LICENSE'), 'utf8')) {
    problems.push(`${manifest.name}: its LICENSE differs from the root's`)
  }
  console.log(
    `packed ${manifest.name}: ${info.files.length} files, ${(info.size / 1024).toFixed(0)} kB (${(info.unpackedSize / 1024).toFixed(0)} kB unpacked) [${seconds()}]`,
  )
  return { tarball: join(dest, info.filename), problems }
}

/** publint and attw (every profile) on one tarball; a package with no typed entry point (a CLI) gets publint only. */
async function lintTarball({ manifest }, tarball) {
  const problems = []
  await run(bin('publint'), ['run', tarball, '--strict']).catch((error) => problems.push(`${manifest.name}: publint: ${error.message}`))
  if (entrySpecifiers(manifest).length > 0) {
    await run(bin('attw'), [tarball, '--profile', 'strict', '--format', 'ascii', '--no-definitely-typed']).catch((error) =>
      problems.push(`${manifest.name}: attw: ${error.message}`),
    )
  }
  console.log(`linted ${manifest.name} [${seconds()}]`)
  return problems
}

/** Where the monorepo's install holds `name` (hoisted, else under a workspace). */
function installedDir(name) {
  const candidates = [join(root, 'node_modules', name), ...readdirSync(join(root, 'packages')).map((dir) => join(root, 'packages', dir, 'node_modules', name))]
  const found = candidates.find((dir) => existsSync(join(dir, 'package.json')))
  if (!found) throw new Error(`${name} is a peer of a published package but is not installed in the monorepo`)
  return found
}

/**
 * A fresh app in `dir`: the tarballs installed by npm (with their own dependencies, from the
 * registry or npm's cache), the SDKs and other peers linked from the monorepo's install (the lock's
 * versions; installing them again would only make the check slower), and its TypeScript sources.
 */
async function installFreshApp(dir, packages, tarballs) {
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'fresh-app', private: true, type: 'module' }))
  await run('npm', ['install', '--prefer-offline', '--omit=peer', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error', ...tarballs], dir)
  const peers = new Set(['@types/node'])
  for (const { manifest } of packages) {
    for (const peer of Object.keys(manifest.peerDependencies ?? {})) if (!peer.startsWith('@tokenquota/')) peers.add(peer)
  }
  console.log(`fresh app: tarballs installed [${seconds()}]`)
  for (const peer of peers) {
    const link = join(dir, 'node_modules', peer)
    if (existsSync(link)) continue
    mkdirSync(join(link, '..'), { recursive: true })
    symlinkSync(installedDir(peer), link, 'dir')
  }
  for (const [path, text] of Object.entries(freshAppSources(packages.map(({ manifest }) => manifest)))) {
    mkdirSync(join(dir, path, '..'), { recursive: true })
    writeFileSync(join(dir, path), text)
  }
}

/** TypeScript under each resolution mode, then Node loading what the ESM and CommonJS builds compiled to. */
async function compileAndLoad(dir) {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  const compiled = await Promise.all(
    ['tsconfig.nodenext.json', 'tsconfig.bundler.json', 'tsconfig.commonjs.json'].map((project) =>
      run(process.execPath, [tsc, '-p', project], dir).then(
        () => console.log(`fresh app: tsc -p ${project} [${seconds()}]`),
        (error) => `fresh app: tsc -p ${project}: ${error.message}`,
      ),
    ),
  )
  const problems = compiled.filter((problem) => problem !== undefined)
  if (problems.length > 0) return problems
  for (const file of ['out/nodenext/esm.mjs', 'out/nodenext/cjs.cjs', 'out/commonjs/node10.js']) {
    await run(process.execPath, [file], dir)
      .then((output) => console.log(`fresh app: node ${file}: ${output.trim()}`))
      .catch((error) => problems.push(`fresh app: node ${file}: ${error.message}`))
  }
  return problems
}

async function main() {
  const packages = publishedPackages()
  const missingBuild = packages.filter(({ dir }) => !existsSync(join(dir, 'dist')))
  if (missingBuild.length > 0) throw new Error(`run \`npm run build\` first (no dist/ in ${missingBuild.map(({ manifest }) => manifest.name).join(', ')})`)
  const folder = mkdtempSync(join(tmpdir(), 'tokenquota-packages-'))
  try {
    mkdirSync(join(folder, 'tarballs'))
    const packed = await Promise.all(packages.map((pkg) => pack(pkg, join(folder, 'tarballs'))))
    const problems = packed.flatMap(({ problems }) => problems)
    const [lints, app] = await Promise.all([
      Promise.all(packages.map((pkg, index) => lintTarball(pkg, packed[index].tarball))),
      installFreshApp(
        join(folder, 'app'),
        packages,
        packed.map(({ tarball }) => tarball),
      ).then(() => compileAndLoad(join(folder, 'app'))),
    ])
    problems.push(...lints.flat(), ...app)
    if (problems.length > 0) {
      console.error(`\n${problems.length} problem(s) with the packages as published:\n\n${problems.join('\n\n')}`)
      return 1
    }
    console.log(`\n${packages.length} packages: packed, linted (publint, attw in every profile), installed in a fresh app, compiled and loaded`)
    return 0
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
}

process.exitCode = await main()
