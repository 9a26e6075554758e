import { describe, it } from 'vitest'
import { checkAgainstReferenceModel } from '@tokenquota/test-support/reference-model'
import { MemoryStore } from '../store/memory-store.js'
import type { QuotaStore } from '../store/quota-store.js'
import { SyncedStore } from '../store/synced-store.js'

describe('engine on MemoryStore against a reference model', () => {
  it('admits, refuses and reports exactly like the model, and never commits more than allowed', async () => {
    await checkAgainstReferenceModel({ createStore: () => new MemoryStore(), numRuns: 300 })
  }, 30_000) // random sequences: some runs are long, and CI shares two cores

  it('on SyncedStore, decides like the model and writes exactly the model’s charges through', async () => {
    const shared = new WeakMap<QuotaStore, MemoryStore>()
    const createStore = (now: () => number) => {
      const remote = new MemoryStore()
      const store = new SyncedStore(remote, { syncIntervalMs: 3_600_000, now })
      shared.set(store, remote)
      return store
    }
    await checkAgainstReferenceModel({ createStore, sharedStoreOf: (store) => shared.get(store)!, numRuns: 200 })
  }, 30_000)
})
