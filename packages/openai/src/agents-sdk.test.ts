import { Agent, run, setDefaultOpenAIClient, setTracingDisabled, tool } from '@openai/agents'
import { createTokenQuota, TokenQuotaExceededError, type QuotaPolicy } from '@tokenquota/core'
import { baseURL, createProviderServer, json, responseObject, responsesUsage } from '@tokenquota/test-support'
import OpenAI from 'openai'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { withTokenQuota } from './with-token-quota.js'

// The OpenAI Agents SDK on a metered client: every model call of a multi-turn, tool-using run is
// charged, and a refusal reaches the code that started the run.
const server = createProviderServer()
// One metered client for the whole file: the Agents SDK keeps the default client's model provider
// once it has made it, as an app that sets its client at startup would.
const plans: QuotaPolicy = {
  name: 'user-daily',
  identifier: 'user',
  allow: { class: 'plan', counts: { standard: 100_000, tight: 700 } },
  interval: 1,
  timeUnit: 'day',
}
const quota = createTokenQuota({ policies: [plans] })
const getWeather = tool({
  name: 'get_weather',
  description: 'Current weather in a city',
  parameters: z.object({ city: z.string() }),
  execute: async ({ city }) => `sunny in ${city}`,
})
const agent = new Agent({
  name: 'Weather',
  instructions: 'Answer about the weather.',
  model: 'gpt-4.1',
  tools: [getWeather],
  modelSettings: { maxTokens: 500 },
})

/** A Responses API answer that calls a function tool. */
function functionCallResponse(usage: { prompt: number; completion: number }) {
  return {
    ...responseObject({ usage }),
    id: 'resp_function_call',
    output: [
      {
        type: 'function_call',
        id: 'fc_67ca09c6bedc8190a7abfec07b1a1332',
        call_id: 'call_unLAR8MvFNptuiZK6K6HCy5k',
        name: 'get_weather',
        arguments: '{"city":"Paris"}',
        status: 'completed',
      },
    ],
    usage: responsesUsage(usage),
  }
}

beforeAll(() => {
  server.listen()
  setTracingDisabled(true)
  // Made after msw is listening: the SDK keeps the fetch it finds at construction.
  setDefaultOpenAIClient(withTokenQuota(new OpenAI({ apiKey: 'sk-test', baseURL, maxRetries: 0 }), { quota }) as never)
})
afterEach(() => server.reset())
afterAll(() => server.close())

describe('OpenAI Agents SDK with a metered client', () => {
  it('charges every model call of a tool-using run', async () => {
    server.reply(
      '/responses',
      json(functionCallResponse({ prompt: 80, completion: 15 })),
      json(responseObject({ text: 'It is sunny in Paris.', usage: { prompt: 120, completion: 8 } })),
    )
    const result = await quota.withContext({ user: 'alice', plan: 'standard' }, () => run(agent, 'Weather in Paris?'))
    expect(result.finalOutput).toBe('It is sunny in Paris.')
    expect(server.calls.map((call) => call.path)).toEqual(['/responses', '/responses'])
    expect(await quota.status({ user: 'alice', plan: 'standard' })).toMatchObject([{ used: 95 + 128, reserved: 0 }])
  })

  it('surfaces a refusal as TokenQuotaExceededError to the code that started the run', async () => {
    // 700 tokens a day: the first call (prompt + 500 output) fits, the second does not.
    server.reply(
      '/responses',
      json(functionCallResponse({ prompt: 80, completion: 15 })),
      json(responseObject({ text: 'It is sunny in Paris.', usage: { prompt: 120, completion: 8 } })),
    )
    const error = await quota.withContext({ user: 'bob', plan: 'tight' }, () => run(agent, 'Weather in Paris?')).catch((caught: unknown) => caught)
    expect(TokenQuotaExceededError.isInstance(error)).toBe(true)
    expect(server.calls).toHaveLength(1)
    expect(await quota.status({ user: 'bob', plan: 'tight' })).toMatchObject([{ used: 95, reserved: 0 }])
  })
})
