import { globSync, readdirSync } from 'node:fs'
import { readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { AsyncLocalStorage } from 'node:async_hooks'
import { createTokenQuota } from '@tokenquota/core'
import { UpstashStore } from '@tokenquota/core/upstash'
import { type RedisServer, startRedisServer, startUpstashRestServer } from '@tokenquota/test-support/redis'
import { Redis as UpstashRedis } from '@upstash/redis'
import { EdgeRuntime } from 'edge-runtime'
import { Redis } from 'ioredis'
import { Miniflare } from 'miniflare'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
// @ts-expect-error: plain ES modules without types
import { startLocalOpenAI } from '../openai-chat/local-openai-server.mjs'
// @ts-expect-error: plain ES modules without types
import { bundleEdgeChat } from './build.mjs'

/** One runtime running the bundled app: a request in, a response out. */
interface Runtime {
  fetch(path: string, init?: { method?: string; user?: string; body?: unknown }): Promise<Response>
  dispose(): Promise<void>
}

let redisServer: RedisServer
let redis: Redis
let upstash: Awaited<ReturnType<typeof startUpstashRestServer>>
let openai: { baseURL: string; close(): Promise<void> }
let bundles: { worker: string; edgeFunction: string }
let workerd: Promise<{ miniflare: Miniflare; folder: string | undefined }> | undefined

/**
 * The bundles `npm run build` made (build.mjs), or new ones when a source of the app or its build
 * script is newer: bundling is esbuild's work of seconds, the same for every run of unchanged sources.
 */
async function builtOrBundled(): Promise<{ worker: string; edgeFunction: string }> {
  const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))
  const built = { worker: here('./dist/worker.js'), edgeFunction: here('./dist/edge-function.js') }
  const modified = async (path: string) => (await stat(path).catch(() => undefined))?.mtimeMs ?? Number.POSITIVE_INFINITY
  const sources = [here('./build.mjs'), ...globSync('src/**/*.ts', { cwd: here('.') }).map((path) => here(`./${path}`))]
  const newestSource = Math.max(...(await Promise.all(sources.map(modified))))
  const oldestBundle = Math.min(...(await Promise.all(Object.values(built).map(async (path) => -(await modified(path))))).map((time) => -time))
  return oldestBundle > newestSource && oldestBundle !== Number.POSITIVE_INFINITY ? built : bundleEdgeChat()
}

beforeAll(async () => {
  ;[redisServer, openai, bundles] = await Promise.all([startRedisServer(), startLocalOpenAI(), builtOrBundled()])
  redis = new Redis(redisServer.url)
  upstash = await startUpstashRestServer(redis)
}, 60_000)

afterAll(async () => {
  const started = await workerd
  await started?.miniflare.dispose()
  // Miniflare removes its temporary folder after dispose() returns, unawaited: the file's worker may exit first.
  if (started?.folder) await rm(started.folder, { recursive: true, force: true, maxRetries: 3 })
  await upstash?.close()
  redis?.disconnect()
  await redisServer?.kill()
  await openai?.close()
})

const dailyTokens = 300

function envFor(store: 'memory' | 'upstash'): Record<string, string> {
  return {
    OPENAI_API_KEY: 'sk-test',
    OPENAI_BASE_URL: openai.baseURL,
    DAILY_TOKENS: String(dailyTokens),
    ...(store === 'upstash' && { UPSTASH_REDIS_REST_URL: upstash.url, UPSTASH_REDIS_REST_TOKEN: 'test-token' }),
  }
}

function requestFor(path: string, init: { method?: string; user?: string; body?: unknown } = {}): [string, RequestInit] {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(init.user && { 'x-user': init.user }) }
  return [`http://edge-chat.test${path}`, { method: init.method ?? 'POST', headers, ...(init.body !== undefined && { body: JSON.stringify(init.body) }) }]
}

/**
 * workerd, through miniflare: the Worker module with `nodejs_compat`, as Cloudflare runs it. One
 * workerd process for the file, serving the app twice as two Workers (isolates of their own), one
 * per store's bindings; it is stopped after all tests.
 */
async function inWorkerd(store: 'memory' | 'upstash'): Promise<Runtime> {
  // The module listed, not walked: the bundle keeps core's lazy `import(name)` of the optional price table.
  const modules = [{ type: 'ESModule' as const, path: bundles.worker }]
  const worker = (name: 'memory' | 'upstash') => ({
    name,
    modules,
    compatibilityDate: '2026-07-01',
    compatibilityFlags: ['nodejs_compat'],
    bindings: envFor(name),
  })
  workerd ??= (async () => {
    const miniflareFolders = () => readdirSync(tmpdir()).filter((name) => name.startsWith('miniflare-'))
    const before = new Set(miniflareFolders())
    const miniflare = new Miniflare({ workers: [worker('memory'), worker('upstash')] })
    await miniflare.ready
    const folder = miniflareFolders().find((name) => !before.has(name))
    return { miniflare, folder: folder && join(tmpdir(), folder) }
  })()
  // A Worker's Fetcher, typed by Miniflare with workerd's own Request and Response.
  const app = (await (await workerd).miniflare.getWorker(store)) as unknown as { fetch(...request: [string, RequestInit]): Promise<Response> }
  return {
    fetch: (path, init) => app.fetch(...requestFor(path, init)),
    dispose: async () => undefined,
  }
}

/**
 * Vercel's edge-runtime sandbox: Web APIs only, no `Buffer`, no Node modules; `process.env` and
 * (on Vercel) a global AsyncLocalStorage, which `withALS: false` leaves out.
 */
async function inEdgeRuntime(env: Record<string, string>, withALS = true): Promise<Runtime> {
  const runtime = new EdgeRuntime({
    initialCode: await readFile(bundles.edgeFunction, 'utf8'),
    extend: (context) => Object.assign(context, { process: { env }, ...(withALS && { AsyncLocalStorage }) }),
  })
  return {
    fetch: (path, init) => runtime.dispatchFetch(...requestFor(path, init)) as Promise<Response>,
    dispose: async () => undefined,
  }
}

const runtimes = [
  ['workerd (miniflare)', (store: 'memory' | 'upstash') => inWorkerd(store)],
  ["Vercel's edge-runtime", (store: 'memory' | 'upstash') => inEdgeRuntime(envFor(store))],
  ["Vercel's edge-runtime without AsyncLocalStorage", (store: 'memory' | 'upstash') => inEdgeRuntime(envFor(store), false)],
] as const

// Each test has a runtime (workerd: a Worker) of its own for a user of its own: the six run side by
// side (starting workerd is most of its two tests' time).
describe.concurrent.each(runtimes)('the bundled edge app on %s', (_name, start) => {
  it.each(['memory', 'upstash'] as const)(
    'reserves and charges the OpenAI SDK and an AI SDK model, then answers 429 with headers (%s store)',
    async (store) => {
      const user = `user-${Math.random().toString(36).slice(2)}`
      const runtime = await start(store)
      try {
        const chat = await runtime.fetch('/chat', { user, body: { message: 'Say hello' } })
        expect(chat.status).toBe(200)
        const chatUsage = ((await chat.json()) as { usage: number }).usage
        const ai = await runtime.fetch('/ai', { user, body: { message: 'Say hello again' } })
        expect(ai.status).toBe(200)
        const aiUsage = ((await ai.json()) as { usage: number }).usage
        expect(chatUsage).toBeGreaterThan(0)
        const status = (await (await runtime.fetch('/usage', { method: 'GET', user })).json()) as Array<{ used: number; reserved: number; resetAt: number }>
        expect(status[0]).toMatchObject({ used: chatUsage + aiUsage, reserved: 0 })

        if (store === 'upstash') {
          // The counters are in Redis, behind the REST API: a Node process on the same store sees them.
          // It reads the edge app's window (the runtime keeps its own clock, which a test run with a
          // shifted Date does not move), so its clock is a moment before that window's end.
          const edgeWindowEnd = status[0]!.resetAt
          const node = createTokenQuota({
            policies: [{ name: 'user-daily', identifier: 'user', allow: dailyTokens, interval: 1, timeUnit: 'day' }],
            store: new UpstashStore({ client: new UpstashRedis({ url: upstash.url, token: 'test-token' }) }),
            now: () => edgeWindowEnd - 1,
          })
          expect((await node.status({ user }))[0]).toMatchObject({ used: chatUsage + aiUsage })
        }

        let refused: Response | undefined
        for (let call = 0; call < 20 && !refused; call += 1) {
          const response = await runtime.fetch(call % 2 ? '/ai' : '/chat', { user, body: { message: 'More, please' } })
          if (response.status === 429) refused = response
          else expect(response.status).toBe(200)
        }
        expect(refused?.headers.get('x-ratelimit-limit-tokens')).toBe(String(dailyTokens))
        expect(Number(refused?.headers.get('x-ratelimit-remaining-tokens'))).toBeLessThan(dailyTokens)
        expect(refused?.headers.get('retry-after')).toMatch(/^\d+$/)
        expect(await refused?.json()).toMatchObject({ code: 'TokenQuotaExceeded' })
        expect(((await (await runtime.fetch('/usage', { method: 'GET', user })).json()) as Array<{ used: number }>)[0]!.used).toBeLessThanOrEqual(dailyTokens)
      } finally {
        await runtime.dispose()
      }
    },
    60_000,
  )
})
