export { UpstashStore } from './stores/upstash-store.js'
export type { UpstashStoreOptions, UpstashRedisLike } from './stores/upstash-store.js'
