import { nextRefusalRun } from '../store-admin.js'
import type { LastRefusal, RefusalRun } from '../store-admin.js'
import type { PgClientLike } from './pg-client.js'
import { lockOrder, targetKey } from './row-keys.js'
import type { Tables } from './schema.js'

/** One refusal to record on a counter (its family and identifier) in the window starting at `windowStart`. */
export interface RefusalToNote extends Omit<LastRefusal, 'at'> {
  readonly counter: string
  readonly identifier: string
  readonly windowStart: number
}

export type StoredRefusal = LastRefusal & { readonly run: RefusalRun }

/**
 * Records refusals as a counter's last refusal and extends its run (`nextRefusalRun`), rows locked
 * in key order. Twin of `MemoryAdminBook.noteRefusal` (Lua: `note_refusal`).
 */
export async function noteRefusals(
  client: PgClientLike,
  tables: Tables,
  shard: string | undefined,
  at: number,
  notes: readonly RefusalToNote[],
): Promise<void> {
  if (notes.length === 0) return
  const keyed = notes.map((note) => ({ key: targetKey(shard, note.counter, note.identifier), note }))
  const keys = lockOrder(keyed.map(({ key }) => key))
  // A first refusal of a counter inserts its row first, so that two processes never both see none.
  await client.query(`INSERT INTO ${tables.refusals} (key, value) SELECT unnest($1::text[]), 'null' ON CONFLICT DO NOTHING`, [keys])
  const { rows } = await client.query(`SELECT key, value FROM ${tables.refusals} WHERE key = ANY($1) ORDER BY key COLLATE "C" FOR UPDATE`, [keys])
  const runs = new Map(rows.map((row) => [row.key as string, (row.value as StoredRefusal | null)?.run]))
  const next = new Map<string, StoredRefusal>()
  for (const { key, note } of keyed) {
    const run = nextRefusalRun(next.get(key)?.run ?? runs.get(key), at, note.windowStart)
    next.set(key, { at, requested: note.requested, limit: note.limit, used: note.used, reserved: note.reserved, run })
  }
  await client.query(
    `INSERT INTO ${tables.refusals} (key, value) SELECT * FROM unnest($1::text[], $2::jsonb[]) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
    [[...next.keys()], [...next.values()].map((value) => JSON.stringify(value))],
  )
}
