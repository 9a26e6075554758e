// Vitest globalSetup of the projects whose tests use Postgres: one embedded Postgres per test run
// (initdb once), on a free port; each test file creates its own database on it (`postgresDatabase`).
import type { TestProject } from 'vitest/node'
import { startPostgresServer } from './postgres-server.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** The run's Postgres server (its `postgres` database). */
    postgresUrl: string
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startPostgresServer()
  project.provide('postgresUrl', server.url)
  return () => server.stop()
}
