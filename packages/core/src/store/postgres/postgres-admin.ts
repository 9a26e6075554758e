import { overridesAfter, overridesFor, overridesInForce, targetInForce } from '../algebra/index.js'
import {
  type AdminOutcome,
  type AdminRead,
  type AdminStep,
  type AuditEntry,
  auditRetention,
  type CounterAdminState,
  checkOverrideWrite,
  idempotencyKeyReused,
  idempotencyRetentionMs,
  type OverrideOutcome,
  type OverrideWrite,
  type RefusalNote,
  type ResetWrite,
  type StoreAdmin,
  stepFingerprint,
  type TargetOverrides,
} from '../store-admin.js'
import { resetUsed } from './counter-state.js'
import { withLockedCounters } from './locked-counters.js'
import { inTransaction, type PgClientLike, type PgPoolLike } from './pg-client.js'
import { noteRefusals, type StoredRefusal } from './refusal-notes.js'
import { counterKey, targetKey } from './row-keys.js'
import type { Tables } from './schema.js'

/**
 * PostgresStore's operator side: overrides (one row per target), last refusals, the audit log and
 * the idempotency keys of admin steps, each step one transaction with its audit entry.
 */
export class PostgresAdmin implements StoreAdmin {
  constructor(
    readonly pool: PgPoolLike,
    readonly tables: Tables,
  ) {}

  /**
   * Runs one admin step once per key (its row locked): `apply` makes the change, then the audit
   * entry is appended. Twin of `MemoryAdminBook.step` (Lua: `applied_as`, `done`).
   */
  async #step(client: PgClientLike, step: AdminStep, fingerprint: string, apply: () => Promise<void>): Promise<boolean> {
    const t = this.tables
    await client.query(`INSERT INTO ${t.adminKeys} (key, at, fingerprint) VALUES ($1, $2, '') ON CONFLICT DO NOTHING`, [step.key, -idempotencyRetentionMs])
    const { rows } = await client.query(`SELECT at, fingerprint FROM ${t.adminKeys} WHERE key = $1 FOR UPDATE`, [step.key])
    const applied = rows[0]!
    if (Number(applied.at) + idempotencyRetentionMs > step.now) {
      if (applied.fingerprint !== fingerprint) throw idempotencyKeyReused(step.key)
      return false
    }
    await apply()
    await client.query(`UPDATE ${t.adminKeys} SET at = $2, fingerprint = $3 WHERE key = $1`, [step.key, step.now, fingerprint])
    await client.query(`INSERT INTO ${t.audit} (entry) VALUES ($1)`, [JSON.stringify(step.audit)])
    return true
  }

  async writeOverride(request: OverrideWrite): Promise<OverrideOutcome> {
    checkOverrideWrite(request)
    const key = targetKey(request.shard, request.counter, request.identifier)
    const t = this.tables
    return inTransaction(this.pool, async (client) => {
      await client.query(`INSERT INTO ${t.overrides} (target, value) VALUES ($1, '{"grants":[]}') ON CONFLICT DO NOTHING`, [key])
      const { rows } = await client.query(`SELECT value FROM ${t.overrides} WHERE target = $1 FOR UPDATE`, [key])
      let current = rows[0]!.value as TargetOverrides
      const applied = await this.#step(client, request, stepFingerprint(request), async () => {
        current = overridesAfter(current, request.change, request.now) ?? { grants: [] }
        await client.query(`UPDATE ${t.overrides} SET value = $2 WHERE target = $1`, [key, JSON.stringify(current)])
      })
      return { applied, overrides: targetInForce(current, request.now) ?? { grants: [] } }
    })
  }

  async readAdmin(request: AdminRead): Promise<readonly CounterAdminState[]> {
    const t = this.tables
    const { shard, now } = request
    const targets = request.counters.flatMap((ref) => [targetKey(shard, ref.counter, ref.identifier), targetKey(shard, ref.counter, '')])
    const client = await this.pool.connect()
    try {
      const overrides = await client.query(`SELECT target, value FROM ${t.overrides} WHERE target = ANY($1)`, [targets])
      const refusals = await client.query(`SELECT key, value FROM ${t.refusals} WHERE key = ANY($1)`, [targets])
      const byTarget = new Map(overrides.rows.map((row) => [row.target as string, row.value as TargetOverrides]))
      const byCounter = new Map(refusals.rows.map((row) => [row.key as string, row.value as StoredRefusal | null]))
      return request.counters.map((ref) => {
        const stored = overridesFor(ref.identifier, (identifier) => byTarget.get(targetKey(shard, ref.counter, identifier))) ?? {}
        const state: CounterAdminState = { overrides: overridesInForce(stored, now) }
        const refusal = byCounter.get(targetKey(shard, ref.counter, ref.identifier))
        if (!refusal) return state
        const { run, ...lastRefusal } = refusal
        return { ...state, lastRefusal, refusals: run }
      })
    } finally {
      client.release()
    }
  }

  async noteRefusals(note: RefusalNote): Promise<void> {
    const notes = note.refusals.map(({ ref, ...refusal }) => ({ ...refusal, counter: ref.counter, identifier: ref.identifier }))
    await inTransaction(this.pool, (client) => noteRefusals(client, this.tables, note.shard, note.now, notes))
  }

  async resetUsage(request: ResetWrite): Promise<AdminOutcome> {
    const keys = request.counters.map((ref) => counterKey(ref, request.shard))
    return withLockedCounters(this.pool, this.tables, { keys, now: request.now, create: false }, async (locked) => {
      const applied = await this.#step(locked.client, request, stepFingerprint(request), async () => {
        for (const [index, ref] of request.counters.entries()) locked.change(keys[index]!, (row) => resetUsed(row.state, ref.window, request.now))
      })
      return { applied }
    })
  }

  async readAudit(limit: number): Promise<readonly AuditEntry[]> {
    const client = await this.pool.connect()
    try {
      const { rows } = await client.query(`SELECT entry FROM ${this.tables.audit} ORDER BY seq DESC LIMIT $1`, [Math.min(limit, auditRetention)])
      return rows.map((row) => row.entry as AuditEntry)
    } finally {
      client.release()
    }
  }
}
