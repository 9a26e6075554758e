// @tokenquota/test-support/postgres: a real Postgres for PostgresStore's tests (Node only).
import { inject } from 'vitest'
import { createDatabase } from './postgres-server.js'

export { createDatabase, startPostgresServer } from './postgres-server.js'
export type { PostgresServer } from './postgres-server.js'

/**
 * A fresh database on the run's Postgres (started by the globalSetup `global-setup.ts`), for one test
 * file: its connection string over TCP, as an app connects; with `socket`, over the server's Unix
 * socket (less CPU a query at both ends, for tests whose subject is not the transport).
 */
export async function postgresDatabase(prefix?: string, { socket = false }: { readonly socket?: boolean } = {}): Promise<string> {
  const server = inject('postgresUrl')
  if (!server) throw new Error('no Postgres in this run: the project needs the globalSetup packages/test-support/src/postgres/global-setup.ts')
  const url = new URL(await createDatabase(server, prefix))
  if (socket) url.searchParams.set('host', inject('postgresSocket'))
  return url.toString()
}
// The app processes of the multi-process tests (Redis and Postgres), kept for a file's tests.
export { runTogether, scenarioWorker } from '../scenario-worker.js'
export type { ScenarioRun, ScenarioWorker } from '../scenario-worker.js'
