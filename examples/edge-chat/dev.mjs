// Runs the Worker locally in workerd (through miniflare) on http://127.0.0.1:8787, against the
// local OpenAI-compatible endpoint unless OPENAI_API_KEY is set; counters on Upstash when
// UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN are set, else in memory.
import { Miniflare } from 'miniflare'
import { startLocalOpenAI } from '../openai-chat/local-openai-server.mjs'
import { bundleEdgeChat } from './build.mjs'

const { worker } = await bundleEdgeChat()
const local = process.env.OPENAI_API_KEY ? undefined : await startLocalOpenAI()
const bindings = Object.fromEntries(
  Object.entries({
    OPENAI_API_KEY: process.env.OPENAI_API_KEY ?? 'sk-local',
    OPENAI_BASE_URL: local?.baseURL ?? process.env.OPENAI_BASE_URL,
    UPSTASH_REDIS_REST_URL: process.env.UPSTASH_REDIS_REST_URL,
    UPSTASH_REDIS_REST_TOKEN: process.env.UPSTASH_REDIS_REST_TOKEN,
    DAILY_TOKENS: process.env.DAILY_TOKENS ?? '2000',
  }).filter(([, value]) => value !== undefined),
)
const port = Number(process.env.PORT ?? 8787)
const miniflare = new Miniflare({
  modules: [{ type: 'ESModule', path: worker }],
  compatibilityDate: '2026-07-01',
  compatibilityFlags: ['nodejs_compat'],
  bindings,
  port,
})
const url = await miniflare.ready
console.log(
  `edge-chat on ${url} (workerd), ${bindings.UPSTASH_REDIS_REST_URL ? 'counters on Upstash' : 'counters in memory'}, ${local ? 'local model' : 'OpenAI'}`,
)
console.log(`  curl -s ${url}chat -H 'x-user: alice' -d '{"message":"Say hello"}'`)
console.log(`  curl -s ${url}ai -H 'x-user: alice' -d '{"message":"Say hello"}'`)
console.log(`  curl -s ${url}usage -H 'x-user: alice'`)

const stop = async () => {
  await miniflare.dispose()
  await local?.close()
  process.exit(0)
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
