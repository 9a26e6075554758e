// @tokenquota/test-support/postgres: a real Postgres for PostgresStore's tests (Node only).
import { inject } from 'vitest'
import { createDatabase } from './postgres-server.js'

export { createDatabase, startPostgresServer } from './postgres-server.js'
export type { PostgresServer } from './postgres-server.js'

/** A fresh database on the run's Postgres (started by the globalSetup `global-setup.ts`), for one test file. */
export function postgresDatabase(prefix?: string): Promise<string> {
  const server = inject('postgresUrl')
  if (!server) throw new Error('no Postgres in this run: the project needs the globalSetup packages/test-support/src/postgres/global-setup.ts')
  return createDatabase(server, prefix)
}
// The app processes of the multi-process tests (Redis and Postgres), kept for a file's tests.
export { runTogether, scenarioWorker } from '../scenario-worker.js'
export type { ScenarioRun, ScenarioWorker } from '../scenario-worker.js'
