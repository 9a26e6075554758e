export { PostgresStore } from './store/postgres/postgres-store.js'
export type { PostgresStoreOptions } from './store/postgres/postgres-store.js'
export type { PgClientLike, PgPoolLike, PgResult } from './store/postgres/pg-client.js'
export type { PostgresTableOptions } from './store/postgres/schema.js'
