import { QuotaConfigError } from '../../shared/errors.js'

/** Where PostgresStore's tables live. */
export interface PostgresTableOptions {
  /**
   * The schema of the tables (created by `migrate()` if missing).
   * @default 'public'
   */
  readonly schema?: string
  /**
   * Prefix of every table name, so that several quotas (or a test per store) share a schema.
   * @default 'tokenquota_'
   */
  readonly tablePrefix?: string
}

/** The quoted, schema-qualified name of each table. */
export interface Tables {
  readonly schema: string
  readonly counters: string
  readonly leases: string
  readonly leaseHolds: string
  readonly overrides: string
  readonly refusals: string
  readonly adminKeys: string
  readonly audit: string
  readonly grants: string
  readonly creditKeys: string
  readonly ledger: string
  readonly appendOnly: string
  /** The lease holds' index on (counter, expiry), unqualified (an index lives in its table's schema). */
  readonly dueIndex: string
}

const plainName = /^[a-z_][a-z0-9_]*$/

export function tablesOf(options: PostgresTableOptions): Tables {
  const schema = options.schema ?? 'public'
  const prefix = options.tablePrefix ?? 'tokenquota_'
  for (const [field, value] of [
    ['schema', schema],
    ['tablePrefix', prefix],
  ] as const) {
    if (!plainName.test(value) || value.length > 40) {
      throw new QuotaConfigError({ code: 'InvalidConfiguration', field, message: `expected lower-case letters, digits and _ (at most 40), got "${value}"` })
    }
  }
  const name = (table: string) => `"${schema}"."${prefix}${table}"`
  return {
    schema: `"${schema}"`,
    counters: name('counters'),
    leases: name('leases'),
    leaseHolds: name('lease_holds'),
    overrides: name('overrides'),
    refusals: name('refusals'),
    adminKeys: name('admin_keys'),
    audit: name('audit'),
    grants: name('credit_grants'),
    creditKeys: name('credit_keys'),
    ledger: name('ledger'),
    appendOnly: name('ledger_append_only'),
    dueIndex: `"${prefix}lease_holds_due"`,
  }
}

/**
 * The tables, created if missing (`PostgresStore.migrate`). Times are epoch ms (`bigint`), from the
 * engine's clock; every row's `key` is the JSON of what it names (a hash when that is long), so one
 * sort order serves the row locks of every transaction.
 */
export function migrationStatements(t: Tables): string[] {
  return [
    `CREATE SCHEMA IF NOT EXISTS ${t.schema}`,
    // One row per counter (a fixed window's own; a flexi, rolling or balance counter's): its state.
    `CREATE TABLE IF NOT EXISTS ${t.counters} (key text PRIMARY KEY, state jsonb)`,
    // Leases that hold, or expired and are remembered an hour for a late settle.
    `CREATE TABLE IF NOT EXISTS ${t.leases} (id text PRIMARY KEY, lease text NOT NULL, state text NOT NULL, expires_at bigint NOT NULL,
      release boolean NOT NULL, record text, answer jsonb NOT NULL, holds jsonb NOT NULL)`,
    // Which counters an unsettled lease holds on: a call expires the due leases of the counters it locks.
    `CREATE TABLE IF NOT EXISTS ${t.leaseHolds} (counter_key text NOT NULL, lease_id text NOT NULL, expires_at bigint NOT NULL,
      PRIMARY KEY (counter_key, lease_id))`,
    `CREATE INDEX IF NOT EXISTS ${t.dueIndex} ON ${t.leaseHolds} (counter_key, expires_at)`,
    `CREATE TABLE IF NOT EXISTS ${t.overrides} (target text PRIMARY KEY, value jsonb NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${t.refusals} (key text PRIMARY KEY, value jsonb NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${t.adminKeys} (key text PRIMARY KEY, at bigint NOT NULL, fingerprint text NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${t.audit} (seq bigserial PRIMARY KEY, entry jsonb NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${t.grants} (balance text NOT NULL, key text NOT NULL, amount bigint NOT NULL, remaining bigint NOT NULL,
      priority integer NOT NULL, expires_at bigint, granted_at bigint NOT NULL, PRIMARY KEY (balance, key))`,
    `CREATE TABLE IF NOT EXISTS ${t.creditKeys} (balance text NOT NULL, key text NOT NULL, fingerprint text NOT NULL, PRIMARY KEY (balance, key))`,
    `CREATE TABLE IF NOT EXISTS ${t.ledger} (balance text NOT NULL, seq bigint NOT NULL, amount bigint NOT NULL, balance_after bigint NOT NULL,
      entry jsonb NOT NULL, PRIMARY KEY (balance, seq))`,
    // The ledger is append-only: an UPDATE or DELETE of a row fails, whoever sends it.
    `CREATE OR REPLACE FUNCTION ${t.appendOnly}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'the credit ledger is append-only: % refused', TG_OP; END $$`,
    `CREATE OR REPLACE TRIGGER append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ${t.ledger} FOR EACH STATEMENT EXECUTE FUNCTION ${t.appendOnly}()`,
  ]
}
