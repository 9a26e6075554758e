import type { PgClientLike } from './pg-client.js'

/**
 * The writes of one transaction, sent as one statement (each a data-modifying CTE) just before
 * COMMIT: a round trip per write would hold the hot rows' locks that much longer. The writes of a
 * batch touch different rows (a statement's CTEs do not see each other's changes).
 */
export class WriteBatch {
  #parts: string[] = []
  #values: unknown[] = []

  /** Adds one `INSERT`, `UPDATE` or `DELETE` whose parameters are numbered from `$1`. */
  add(sql: string, values: readonly unknown[]): void {
    const offset = this.#values.length
    this.#parts.push(sql.replace(/\$(\d+)/g, (_, number: string) => `$${Number(number) + offset}`))
    this.#values.push(...values)
  }

  async send(client: PgClientLike): Promise<void> {
    const parts = this.#parts
    const values = this.#values
    this.#parts = []
    this.#values = []
    if (parts.length === 0) return
    const text = parts.length === 1 ? parts[0]! : `WITH ${parts.map((part, index) => `w${index} AS (${part})`).join(',\n')} SELECT 1`
    await client.query(text, values)
  }
}
