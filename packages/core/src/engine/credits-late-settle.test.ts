import { MemoryStore } from '../store/memory-store.js'
import { describeLateSettleAfterUnpaidExpiry } from '../testing/credit-late-settle-contract.js'

describeLateSettleAfterUnpaidExpiry('MemoryStore', () => new MemoryStore())
