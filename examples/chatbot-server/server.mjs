// Starts the chat API on PORT (default 8787) with in-memory quotas, against OPENAI_BASE_URL /
// OPENAI_API_KEY or the local OpenAI-compatible endpoint of examples/openai-chat. Prints a token
// for a free-plan user to try it, the dashboard's address and an admin token to paste there, and a
// signed payment event that sells alice a credit pack (her plan's allowance then spills into it):
//   curl -s localhost:8787/chat -H "authorization: Bearer $TOKEN" -d '{"messages":[{"role":"user","content":"Hi"}]}'
// Set TOKEN_SECRET and PAYMENT_WEBHOOK_SECRET (required with NODE_ENV=production; a local run makes random ones).
import { randomBytes } from 'node:crypto'
import { serve } from '@hono/node-server'
import { createTokenQuota } from '@tokenquota/core'
import { trackUsage } from '@tokenquota/core/reports'
import { withTokenQuota } from '@tokenquota/openai'
import OpenAI from 'openai'
import { startLocalOpenAI } from '../openai-chat/local-openai-server.mjs'
import { createApp } from './app.mjs'
import { trackInsights } from './insights.mjs'
import { signPayment } from './payments.mjs'
import { issueToken, tokenSecret } from './tokens.mjs'

const secret = tokenSecret()
// The payment provider's webhook signing secret: required in production, a random one for a local run.
if (!process.env.PAYMENT_WEBHOOK_SECRET && process.env.NODE_ENV === 'production')
  throw new Error('PAYMENT_WEBHOOK_SECRET is not set: refusing to start in production')
const paymentSecret = process.env.PAYMENT_WEBHOOK_SECRET ?? randomBytes(32).toString('hex')
const local = process.env.OPENAI_API_KEY ? undefined : await startLocalOpenAI()
const quota = createTokenQuota({
  policies: [
    {
      name: 'user-daily',
      identifier: 'user',
      allow: { class: 'plan', counts: { pro: 50_000, free: 2_000 } },
      interval: 1,
      timeUnit: 'day',
      thresholds: [{ at: 0.8, action: 'warn' }],
      // Past the plan's daily allowance, calls draw on the credits the user bought.
      spillTo: 'credits',
    },
    // Prepaid credits, sold in packs through the payment webhook. In memory they end with the
    // process: a real app keeps them in a durable store.
    { name: 'credits', type: 'balance', identifier: 'user', lowAt: 1_000 },
    { name: 'service-monthly', allow: 5_000_000, interval: 1, timeUnit: 'month' },
    // The whole service's money budget, each call priced at its model's rates (@pydantic/genai-prices).
    { name: 'service-monthly-usd', count: 'usd', allow: 50, interval: 1, timeUnit: 'month' },
  ],
})
const client = withTokenQuota(local ? new OpenAI({ apiKey: 'local', baseURL: local.baseURL }) : new OpenAI(), { quota })
const port = Number(process.env.PORT ?? 8787)
const insights = trackInsights(quota)
const reports = trackUsage(quota, { alerts: { onAlert: insights.noteAlert } })
serve({ fetch: createApp({ quota, client, secret, reports, insights, paymentSecret }).fetch, port }, () => {
  console.log(`chat API on http://localhost:${port}`)
  console.log(`TOKEN=${issueToken(secret, { sub: 'alice', plan: 'free' })}`)
  console.log(`dashboard: http://localhost:${port}/dashboard (admin token: ${issueToken(secret, { sub: 'ops', plan: 'admin' })})`)
  // A credit pack for alice, as the payment provider would send it (send it twice: credited once).
  const purchase = JSON.stringify({ id: 'evt_local_1', type: 'credits.purchased', data: { user: 'alice', credits: 5_000 } })
  console.log(`curl -s localhost:${port}/webhooks/payments -H 'x-payment-signature: ${signPayment(paymentSecret, purchase)}' -d '${purchase}'`)
})
