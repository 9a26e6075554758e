// The chat API: POST /chat (JSON or streamed as server-sent events) and GET /usage, for the user of
// a verified token; POST /webhooks/payments, a signed payment event that sells a credit pack. Refusals answer 429 with Retry-After and x-ratelimit-*-tokens headers — before
// any byte of a stream, since the reservation comes first.
import { QuotaInputError, rateLimitHeaders, StoreUnavailableError, TokenQuotaExceededError, UnpricedModelError } from '@tokenquota/core'
import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { streamSSE } from 'hono/streaming'
import { dashboardPage } from './dashboard.mjs'
import { dashboardRoutes } from './dashboard-routes.mjs'
import { paymentWebhook } from './payments.mjs'
import { verifyToken } from './tokens.mjs'

/** Rate-limit headers for a successful answer: x-ratelimit-* per unit (tokens, dollars) and the IETF RateLimit fields. */
async function quotaHeaders(quota, context) {
  return rateLimitHeaders(await quota.status(context), { now: quota.now() })
}

/** Bodies over `maxSize` bytes answer 413 before they are read. */
function bodyLimitOf(maxSize) {
  return bodyLimit({
    maxSize,
    onError: (c) => c.json({ error: { message: `The request body is over ${maxSize} bytes`, type: 'invalid_request_error' } }, 413),
  })
}

/**
 * @param {{ quota: import('@tokenquota/core').TokenQuota, client: import('openai').OpenAI, secret: string, model?: string, maxOutputTokens?: number, maxBodyBytes?: number, reports?: import('@tokenquota/core/reports').UsageTracking, insights?: ReturnType<typeof import('./insights.mjs').trackInsights>, paymentSecret?: string, creditsPolicy?: string }} options
 *   `paymentSecret`: the payment webhook's signing secret (POST /webhooks/payments tops up `creditsPolicy`, a balance policy).
 */
export function createApp({
  quota,
  client,
  secret,
  model = 'gpt-4o-mini',
  maxOutputTokens = 256,
  maxBodyBytes = 64 * 1024,
  reports,
  insights,
  paymentSecret,
  creditsPolicy = 'credits',
}) {
  const app = new Hono()
  // The plan of every user seen, to show their limits on the dashboard.
  const plans = new Map()

  // The dashboard page holds no data: it asks for an admin token and sends it in a header.
  app.get('/dashboard', (c) => c.html(dashboardPage()))

  // The payment provider's webhook carries no user token: it proves itself with a signature.
  if (paymentSecret) paymentWebhook(app, { quota, secret: paymentSecret, policy: creditsPolicy, bodyLimit: bodyLimitOf(4096) })

  // Identity comes from the verified token in the Authorization header only: headers like
  // x-user-id are ignored, and tokens never travel in URLs (they end up in logs and history).
  app.use('*', async (c, next) => {
    const bearer = c.req.header('authorization')?.replace(/^Bearer\s+/i, '')
    const claims = verifyToken(secret, bearer)
    if (!claims) return c.json({ error: { message: 'Missing, invalid or expired token', type: 'unauthorized' } }, 401)
    c.set('caller', { user: claims.sub, plan: claims.plan })
    if (claims.plan !== 'admin') plans.set(claims.sub, claims.plan)
    await next()
  })

  const adminOnly = async (c, next) => {
    if (c.get('caller').plan !== 'admin') return c.json({ error: { message: 'The dashboard is for admins', type: 'forbidden' } }, 403)
    await next()
  }

  dashboardRoutes(app, { quota, reports, insights, plans, adminOnly, bodyLimit: bodyLimitOf(4096) })

  app.onError((error, c) => {
    if (TokenQuotaExceededError.isInstance(error)) {
      for (const [name, value] of Object.entries(error.toHeaders(quota.now()))) c.header(name, value)
      return c.json({ error: { message: error.message, type: error.unit === 'usd' ? 'budget' : 'tokens', code: error.code, policy: error.policy } }, 429)
    }
    if (QuotaInputError.isInstance(error) || UnpricedModelError.isInstance(error)) {
      return c.json({ error: { message: error.message, type: 'invalid_request_error', code: error.code } }, 400)
    }
    if (StoreUnavailableError.isInstance(error)) {
      c.header('retry-after', '1')
      return c.json({ error: { message: 'The quota store is unavailable; try again shortly', type: 'unavailable' } }, 503)
    }
    console.error(error)
    return c.json({ error: { message: 'Internal error', type: 'server_error' } }, 500)
  })

  app.get('/usage', async (c) => c.json({ usage: await quota.status(c.get('caller')) }))

  const chatBodyLimit = bodyLimitOf(maxBodyBytes)

  app.post('/chat', chatBodyLimit, async (c) => {
    const body = await c.req.json().catch(() => undefined)
    const messages = body?.messages
    if (!Array.isArray(messages) || messages.length === 0 || !messages.every((message) => typeof message?.content === 'string')) {
      return c.json({ error: { message: 'Expected { messages: [{ role, content }] }', type: 'invalid_request_error' } }, 400)
    }
    const caller = c.get('caller')
    const params = {
      model,
      messages: messages.map(({ role, content }) => ({ role: role === 'assistant' ? 'assistant' : 'user', content })),
      max_completion_tokens: maxOutputTokens,
    }
    return quota.withContext(caller, async () => {
      if (!body.stream) {
        const completion = await client.chat.completions.create(params)
        for (const [name, value] of Object.entries(await quotaHeaders(quota, caller))) c.header(name, value)
        return c.json({ reply: completion.choices[0].message.content, usage: completion.usage })
      }
      // Reserved (or refused with a 429) here, before the response starts.
      const stream = await client.chat.completions.create({ ...params, stream: true })
      for (const [name, value] of Object.entries(await quotaHeaders(quota, caller))) c.header(name, value)
      return streamSSE(c, async (sse) => {
        for await (const chunk of stream) {
          const delta = chunk.choices[0]?.delta.content
          if (delta) await sse.writeSSE({ data: JSON.stringify({ delta }) })
        }
        await sse.writeSSE({ event: 'done', data: '{}' })
      })
    })
  })

  return app
}
