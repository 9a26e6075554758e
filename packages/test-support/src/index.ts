// The main entry stays light (provider fixtures, the msw server, prices, temporary folders): the real
// tokenizers (`./tokens`) and the engine's reference model (`./reference-model`, fast-check and the
// store contracts) have subpaths of their own, loaded only by the test files that use them.
export * from './openai-fixtures.js'
export * from './anthropic-fixtures.js'
export * from './gemini-fixtures.js'
export { abortOnceArrived } from './abort-once-arrived.js'
export { baseURL, computed, createProviderServer, hang, json, sse } from './provider-server.js'
export type { RecordedCall, Reply } from './provider-server.js'
export { startResettingServer } from './resetting-server.js'
export { countedPrice, extractedPrice, tablePrice } from './table-prices.js'
export type { PriceLookup, PricedTokens } from './table-prices.js'
export { dailyQuota } from './daily-quota.js'
export { temporaryFolder } from './temporary-folder.js'
