export { UpstashStore } from './store/upstash-store.js'
export type { UpstashStoreOptions, UpstashRedisLike } from './store/upstash-store.js'
