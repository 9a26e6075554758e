import { describe, it } from 'vitest'
import { checkAgainstReferenceModel } from './engine-model-check.js'
import { MemoryStore } from './stores/memory-store.js'

describe('engine on MemoryStore against a reference model', () => {
  it('admits, refuses and reports exactly like the model, and never commits more than allowed', async () => {
    await checkAgainstReferenceModel(() => new MemoryStore(), 300)
 
  }, 30_000) // random sequences: some runs are long, and CI shares two cores
})
