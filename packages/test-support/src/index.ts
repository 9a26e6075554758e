export * from './openai-fixtures.js'
export * from './anthropic-fixtures.js'
export { baseURL, createProviderServer, json, sse } from './provider-server.js'
export type { RecordedCall, Reply } from './provider-server.js'
