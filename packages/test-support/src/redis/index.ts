// @tokenquota/test-support/redis: real redis-servers for the Redis stores' tests (Node only).
export { connectFailFast, startRedisServer } from './redis-server.js'
export type { RedisServer } from './redis-server.js'
export { createUpstashRestBridge, startUpstashRestServer, upstashRestHandler, upstashUrl } from './upstash-rest-bridge.js'
