export { RedisStore } from './stores/redis-store.js'
export type { RedisStoreOptions, IORedisLike, NodeRedisLike } from './stores/redis-store.js'
export { scripts } from './stores/redis/lua-scripts.js'
export type { LuaScript } from './stores/redis/lua-scripts.js'
