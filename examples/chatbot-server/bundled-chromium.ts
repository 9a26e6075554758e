import { existsSync } from 'node:fs'
import { mkdir, readFile, rename, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'

// @sparticuz/chromium unpacks its browser (67 MB of Brotli into 200 MB) into the temporary folder,
// which every test run starts empty: ~2.4 CPU-s per run. It is unpacked once per install instead, into
// node_modules/.cache (per version), and reused; the browser run is the same binary either way.
// `npm test` unpacks it before the tests (scripts/provision-test-deps.mjs), as it provides redis-server.
const cache = fileURLToPath(new URL('../../node_modules/.cache/tokenquota-chromium/', import.meta.url))

/** Runs `work` with the process's temporary folder (what `os.tmpdir()` answers) set to `folder`. */
async function withTemporaryFolder<T>(folder: string, work: () => Promise<T>): Promise<T> {
  const before = process.env.TMPDIR
  process.env.TMPDIR = folder
  try {
    return await work()
  } finally {
    if (before === undefined) delete process.env.TMPDIR
    else process.env.TMPDIR = before
  }
}

/** How to launch headless Chromium from npm (@sparticuz/chromium carries the binary in its tarball): `npm ci` is all it needs. */
export interface BundledChromium {
  readonly executablePath: string
  readonly args: string[]
  /** Whether this call unpacked the browser (the first after an install). */
  readonly unpacked: boolean
}

/** The bundled browser, unpacked into node_modules/.cache if it is not yet, and the flags to launch it with. */
export async function bundledChromium(): Promise<BundledChromium> {
  // The package unpacks its own NSS libraries only where it believes it runs on Amazon Linux 2023;
  // saying so makes the browser need nothing from the system but libc.
  process.env.AWS_LAMBDA_JS_RUNTIME ??= 'nodejs22.x'
  const manifest = new URL('../package.json', pathToFileURL(createRequire(import.meta.url).resolve('@sparticuz/chromium')))
  const { version } = JSON.parse(await readFile(manifest, 'utf8')) as { version: string }
  const folder = `${cache}${version}`
  // On import, the package points LD_LIBRARY_PATH and FONTCONFIG_PATH into the temporary folder.
  const { default: bundled } = await withTemporaryFolder(folder, () => import('@sparticuz/chromium'))
  const unpacked = !existsSync(folder)
  if (unpacked) {
    // Unpacked beside, then renamed: a run stopped half-way never leaves a truncated browser behind.
    const partial = `${folder}.${process.pid}`
    await mkdir(partial, { recursive: true })
    await withTemporaryFolder(partial, () => bundled.executablePath())
    await rename(partial, folder).catch(() => rm(partial, { recursive: true, force: true })) // another run won
  }
  return {
    executablePath: await withTemporaryFolder(folder, () => bundled.executablePath()),
    // Without the background-networking flags Chromium keeps dialling out, which a closed network refuses.
    // The dashboard draws with HTML and SVG, no canvas or WebGL: Chromium's software compositor paints it
    // without the emulated GPU (SwiftShader) the bundled flags set up, for ~1 CPU-s less per run.
    args: [
      ...bundled.args,
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-gpu',
    ],
    unpacked,
  }
}
