import { MemoryStore } from '../store/memory-store.js'
import { describeSpillBeyondEstimate } from '../testing/credit-spill-contract.js'

describeSpillBeyondEstimate('MemoryStore', () => new MemoryStore())
