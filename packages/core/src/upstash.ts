export { UpstashStore } from './store/upstash-store.js'
export type { UpstashStoreOptions, UpstashRedisLike } from './store/upstash-store.js'
export { LuaStore } from './store/redis/lua-store.js'
export type { LuaStoreOptions } from './store/redis/lua-store.js'
