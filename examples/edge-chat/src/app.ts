// One edge app, two entries: a Cloudflare Worker (worker.ts) and a Vercel edge route (vercel.ts).
// Per-user daily token quotas on Upstash (or in memory), wrapping the OpenAI SDK and an AI SDK model.
import { createOpenAI } from '@ai-sdk/openai'
import { tokenQuotaMiddleware } from '@tokenquota/ai-sdk'
import { createTokenQuota, type QuotaContext, type TokenQuota, TokenQuotaExceededError } from '@tokenquota/core'
import { UpstashStore } from '@tokenquota/core/upstash'
import { withTokenQuota } from '@tokenquota/openai'
import { Redis } from '@upstash/redis'
import { generateText, wrapLanguageModel } from 'ai'
import OpenAI from 'openai'

/** The app's settings: bindings on Workers, environment variables on Vercel. */
export interface EdgeChatEnv {
  readonly OPENAI_API_KEY: string
  readonly OPENAI_BASE_URL?: string
  /** Without these, counters live in the isolate's memory (one per isolate: fine for a demo, not for production). */
  readonly UPSTASH_REDIS_REST_URL?: string
  readonly UPSTASH_REDIS_REST_TOKEN?: string
  /** Tokens per user per day. @default 2000 */
  readonly DAILY_TOKENS?: string
  readonly MODEL?: string
}

function createQuota(env: EdgeChatEnv): TokenQuota {
  const store =
    env.UPSTASH_REDIS_REST_URL && env.UPSTASH_REDIS_REST_TOKEN
      ? new UpstashStore({ client: new Redis({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN }) })
      : undefined
  const allow = Number(env.DAILY_TOKENS ?? 2000)
  return createTokenQuota({
    policies: [{ name: 'user-daily', identifier: 'user', allow, interval: 1, timeUnit: 'day' }],
    ...(store && { store }),
    // An edge runtime may stop work left running after the response: charges are written before it.
    commitMode: 'await',
  })
}

/** A JSON answer; a refusal becomes a 429 with its `Retry-After` and `x-ratelimit-*` headers. */
async function answer(run: () => Promise<unknown>): Promise<Response> {
  try {
    return Response.json(await run())
  } catch (error) {
    if (TokenQuotaExceededError.isInstance(error)) return Response.json({ error: error.message, code: error.code }, { status: 429, headers: error.toHeaders() })
    throw error
  }
}

/**
 * The app. The caller is read from `x-user` here (put your authentication there) and passed to
 * the adapters explicitly, which works on every runtime; `quota.withContext()` works too where
 * `AsyncLocalStorage` exists (Workers with `nodejs_compat`, Vercel's edge runtime).
 */
export function createEdgeChat(env: EdgeChatEnv): { fetch(request: Request): Promise<Response> } {
  const quota = createQuota(env)
  const openai = new OpenAI({ apiKey: env.OPENAI_API_KEY, baseURL: env.OPENAI_BASE_URL, maxRetries: 0 })
  const provider = createOpenAI({ apiKey: env.OPENAI_API_KEY, baseURL: env.OPENAI_BASE_URL })
  const model = env.MODEL ?? 'gpt-4o-mini'

  async function route(request: Request, url: URL, context: QuotaContext): Promise<Response> {
    if (request.method === 'GET' && url.pathname === '/usage') return Response.json(await quota.status(context))
    if (request.method !== 'POST') return new Response('Not found', { status: 404 })
    const { message } = (await request.json()) as { message: string }
    if (url.pathname === '/chat') {
      const client = withTokenQuota(openai, { quota, context: () => context })
      return answer(async () => {
        const completion = await client.chat.completions.create({ model, messages: [{ role: 'user', content: message }], max_completion_tokens: 200 })
        return { answer: completion.choices[0]?.message.content, usage: completion.usage?.total_tokens }
      })
    }
    if (url.pathname === '/ai') {
      const metered = wrapLanguageModel({ model: provider.chat(model), middleware: tokenQuotaMiddleware({ quota, context: () => context }) })
      return answer(async () => {
        const result = await generateText({ model: metered, prompt: message, maxOutputTokens: 200, maxRetries: 0 })
        return { answer: result.text, usage: result.usage.totalTokens }
      })
    }
    return new Response('Not found', { status: 404 })
  }

  return {
    async fetch(request) {
      const url = new URL(request.url)
      const user = request.headers.get('x-user')
      if (!user) return Response.json({ error: 'Say who you are in the x-user header' }, { status: 401 })
      return route(request, url, { user })
    },
  }
}
