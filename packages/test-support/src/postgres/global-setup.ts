// Vitest globalSetup of the projects whose tests use Postgres: one embedded Postgres per test run
// (initdb once), on a free port; each test file creates its own database on it (`postgresDatabase`).
import type { TestProject } from 'vitest/node'
import { type PostgresServer, startPostgresServer } from './postgres-server.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** The run's Postgres server (its `postgres` database). */
    postgresUrl: string
    /** The folder of its Unix domain socket. */
    postgresSocket: string
  }
}

/**
 * Vitest runs a globalSetup once per project that lists it, each project importing it anew: the
 * server is kept on `globalThis` of the Vitest process, so the projects of a run share one (initdb
 * and start-up once), stopped when the last of them tears down.
 */
const key = Symbol.for('tokenquota.test-support.postgres')
interface Shared {
  readonly server: Promise<PostgresServer>
  projects: number
}
const registry = globalThis as { [key]?: Shared }

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  registry[key] ??= { server: startPostgresServer(), projects: 0 }
  const shared = registry[key]
  shared.projects += 1
  const server = await shared.server
  project.provide('postgresUrl', server.url)
  project.provide('postgresSocket', server.socket)
  return async () => {
    shared.projects -= 1
    if (shared.projects > 0) return
    delete registry[key]
    await server.stop()
  }
}
