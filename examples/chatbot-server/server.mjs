// Starts the chat API on PORT (default 8787) with in-memory quotas, against OPENAI_BASE_URL /
// OPENAI_API_KEY or the local OpenAI-compatible endpoint of examples/openai-chat. Prints a token
// for a free-plan user to try it, the dashboard's address and an admin token to paste there:
//   curl -s localhost:8787/chat -H "authorization: Bearer $TOKEN" -d '{"messages":[{"role":"user","content":"Hi"}]}'
// Set TOKEN_SECRET (required with NODE_ENV=production; a local run makes a random one).
import { serve } from '@hono/node-server'
import { createTokenQuota } from '@tokenquota/core'
import { trackUsage } from '@tokenquota/core/reports'
import { withTokenQuota } from '@tokenquota/openai'
import OpenAI from 'openai'
import { startLocalOpenAI } from '../openai-chat/local-openai-server.mjs'
import { createApp } from './app.mjs'
import { trackInsights } from './insights.mjs'
import { issueToken, tokenSecret } from './tokens.mjs'

const secret = tokenSecret()
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
    },
    { name: 'service-monthly', allow: 5_000_000, interval: 1, timeUnit: 'month' },
    // The whole service's money budget, each call priced at its model's rates (@pydantic/genai-prices).
    { name: 'service-monthly-usd', count: 'usd', allow: 50, interval: 1, timeUnit: 'month' },
  ],
})
const client = withTokenQuota(local ? new OpenAI({ apiKey: 'local', baseURL: local.baseURL }) : new OpenAI(), { quota })
const port = Number(process.env.PORT ?? 8787)
const insights = trackInsights(quota)
const reports = trackUsage(quota, { alerts: { onAlert: insights.noteAlert } })
serve({ fetch: createApp({ quota, client, secret, reports, insights }).fetch, port }, () => {
  console.log(`chat API on http://localhost:${port}`)
  console.log(`TOKEN=${issueToken(secret, { sub: 'alice', plan: 'free' })}`)
  console.log(`dashboard: http://localhost:${port}/dashboard (admin token: ${issueToken(secret, { sub: 'ops', plan: 'admin' })})`)
})
