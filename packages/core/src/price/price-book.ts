import { QuotaConfigError } from '../shared/errors.js'
import type { ModelPricing, PriceTable } from './price-table.js'

/**
 * The engine's price tables, in order (the first that prices a model wins), checked when the quota
 * is created and loaded once before the first money charge. A table that fails to load fails every
 * money reservation with its error: a call is never priced at nothing.
 */
export class PriceBook {
  readonly tables: readonly PriceTable[]
  #loading: Promise<void> | undefined
  loaded = false

  /** @throws QuotaConfigError when a table's `check()` finds it cannot load (a package not installed) */
  constructor(tables: readonly PriceTable[]) {
    this.tables = tables
    for (const table of tables) table.check?.()
  }

  /** Loads every table (once; a failed load is retried by the next call). */
  ready(): Promise<void> {
    this.#loading ??= Promise.all(this.tables.map((table) => table.load?.())).then(
      () => {
        this.loaded = true
      },
      (error: unknown) => {
        this.#loading = undefined
        throw error
      },
    )
    return this.#loading
  }

  pricing(model: string, at: number, provider?: string): ModelPricing | undefined {
    for (const table of this.tables) {
      const pricing = table.pricing(model, at, provider)
      if (pricing) return pricing
    }
    return undefined
  }
}

/** Checks the `prices` option: a table or a list of tables. */
export function priceTablesOf(option: unknown): readonly PriceTable[] {
  const tables = Array.isArray(option) ? option : [option]
  for (const table of tables) {
    if (typeof table !== 'object' || table === null || typeof (table as PriceTable).pricing !== 'function') {
      throw new QuotaConfigError({
        code: 'InvalidConfiguration',
        field: 'prices',
        message: 'Expected `prices` to be a price table (genaiPrices(), priceTable({...}), litellmPrices(json)) or a list of them',
      })
    }
  }
  return tables as readonly PriceTable[]
}
