export { createFakeClock } from './fake-clock.js'
export type { FakeClock } from './fake-clock.js'
export { describeQuotaStoreContract } from './store-contract.js'
export type { StoreContractOptions } from './store-contract.js'
