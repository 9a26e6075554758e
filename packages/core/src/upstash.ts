export { UpstashStore } from './stores/upstash-store.js'
export type { UpstashStoreOptions, UpstashRedisLike } from './stores/upstash-store.js'
export { LuaStore } from './stores/redis/lua-store.js'
export type { LuaStoreOptions } from './stores/redis/lua-store.js'
