// @tokenquota/test-support/redis: real redis-servers for the Redis stores' tests (Node only).
export { connectFailFast, startRedisServer } from './redis-server.js'
export type { RedisServer } from './redis-server.js'
export { startReplyDroppingProxy } from './reply-dropping-proxy.js'
export type { ReplyDroppingProxy } from './reply-dropping-proxy.js'
export { createUpstashRestBridge, startUpstashRestServer, upstashRestHandler, upstashUrl } from './upstash-rest-bridge.js'
// The app processes of the multi-process tests (Redis and Postgres), kept for a file's tests.
export { runTogether, scenarioWorker } from '../scenario-worker.js'
export type { ScenarioRun, ScenarioWorker } from '../scenario-worker.js'
