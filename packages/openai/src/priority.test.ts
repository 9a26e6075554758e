import { createTokenQuota, TokenQuotaExceededError } from '@tokenquota/core'
import { parseQuotaConfig } from '@tokenquota/core/config'
import { baseURL, chatCompletion, createProviderServer, json } from '@tokenquota/test-support'
import OpenAI from 'openai'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { withTokenQuota } from './with-token-quota.js'

const server = createProviderServer()
beforeAll(() => server.listen())
afterEach(() => server.reset())
afterAll(() => server.close())

const config = `
organization:
  daily_cap: 2000
projects:
  production: { daily_limit: 100000, priority: high }
  development: { daily_limit: 100000, priority: low }
`

it('keeps the last 20 % of a shared organization budget for high-priority projects, through the OpenAI adapter', async () => {
  const quota = createTokenQuota({ policies: parseQuotaConfig(config, 'yaml').policies })
  const client = withTokenQuota(new OpenAI({ apiKey: 'sk-test', baseURL, maxRetries: 0 }), { quota })
  server.reply('/chat/completions', json(chatCompletion({ content: 'ok', usage: { prompt: 150, completion: 50 } })))
  const call = (project: string) =>
    quota.withContext({ project }, () =>
      client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], max_completion_tokens: 50 }).then(
        () => 'admitted',
        (error: unknown) => (TokenQuotaExceededError.isInstance(error) ? `refused by ${error.policy} at ${error.limit}` : Promise.reject(error)),
      ),
    )
  const development: string[] = []
  for (let index = 0; index < 10; index += 1) development.push(await call('development'))
  // Each call is charged 200 tokens: low priority gets 1600 of the 2000 (8 calls, minus the last one's reservation).
  expect(development.filter((outcome) => outcome === 'admitted').length).toBeGreaterThanOrEqual(7)
  expect(development.at(-1)).toBe('refused by organization-daily at 1600')
  expect(await call('production')).toBe('admitted')
  expect((await quota.status({ project: 'production' }))[0]!.used).toBeLessThanOrEqual(2000)
})
