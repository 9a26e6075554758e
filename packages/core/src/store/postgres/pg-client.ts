import { StoreUnavailableError } from '../../shared/errors.js'

/** A query's answer, as `pg` gives it. */
export interface PgResult {
  readonly rows: Array<Record<string, unknown>>
  readonly rowCount: number | null
}

/** The `pg` client methods used (a `PoolClient`). */
export interface PgClientLike {
  query(text: string, values?: readonly unknown[]): Promise<PgResult>
  release(error?: Error | boolean): void
}

/** The `pg` pool methods used: a `new Pool(...)` from `pg` (node-postgres). */
export interface PgPoolLike {
  connect(): Promise<PgClientLike>
}

/** SQLSTATEs after which the whole transaction is simply run again: deadlock, serialization failure. */
const retryable = new Set(['40P01', '40001'])

/** Most times a transaction is run again after a deadlock or a lock set that grew (see `PostgresTx`). */
const maxAttempts = 20

/** Thrown inside a transaction to run it again from the start (after ROLLBACK). */
export class RunAgain extends Error {}

/**
 * Runs `body` in one transaction on a client of the pool: COMMIT when it returns, ROLLBACK when it
 * throws. A deadlock, a serialization failure or a `RunAgain` runs it again, from the start. A
 * failure to reach the database is a `StoreUnavailableError` (the engine's `failureMode` decides).
 */
export async function inTransaction<T>(pool: PgPoolLike, body: (client: PgClientLike, attempt: number) => Promise<T>): Promise<T> {
  let client: PgClientLike
  try {
    client = await pool.connect()
  } catch (cause) {
    throw new StoreUnavailableError({ message: `Postgres is unreachable: ${(cause as Error).message}`, cause })
  }
  let broken: Error | undefined
  try {
    for (let attempt = 0; ; attempt += 1) {
      await client.query('BEGIN')
      try {
        const result = await body(client, attempt)
        await client.query('COMMIT')
        return result
      } catch (error) {
        await client.query('ROLLBACK').catch((rollback: Error) => {
          broken = rollback
        })
        const again = error instanceof RunAgain || retryable.has((error as { code?: string }).code ?? '')
        if (!again || broken || attempt + 1 >= maxAttempts) throw error
      }
    }
  } finally {
    client.release(broken)
  }
}
