import { ChatAnthropic } from '@langchain/anthropic'
import { BaseChatModel } from '@langchain/core/language_models/chat_models'
import { HumanMessage } from '@langchain/core/messages'
import { tool } from '@langchain/core/tools'
import { ChatOpenAI, OpenAI } from '@langchain/openai'
import { createTokenQuota, estimateTokens, QuotaInputError, TokenQuotaExceededError, type QuotaPolicy, type WarningEvent } from '@tokenquota/core'
import {
  abortOnceArrived,
  anthropicBaseURL,
  anthropicMessage,
  baseURL,
  chatChunks,
  chatCompletion,
  countedPrice,
  createProviderServer,
  hang,
  json,
  sse,
  startResettingServer,
  textCompletion,
} from '@tokenquota/test-support'
import { createAgent } from 'langchain'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { z } from 'zod'
import { TokenQuotaCallbackHandler, type TokenQuotaCallbackHandlerOptions } from './token-quota-callback-handler.js'

const server = createProviderServer()
beforeAll(() => server.listen())
afterEach(() => server.reset())
afterAll(() => server.close())
// LangChain prints the error of a handler with `raiseError` before rethrowing it.
beforeEach(() => {
  vi.spyOn(console, 'error').mockImplementation(() => undefined)
})

/** OpenAI's framing of a one-message prompt (ChatOpenAI says its provider): 3 tokens the message, 1 its role, 3 to prime the reply. */
const oneMessageFraming = 3 + 1 + 3
const userDaily: QuotaPolicy = { name: 'user-daily', identifier: 'user', allow: 100_000, interval: 1, timeUnit: 'day' }
const question = [new HumanMessage('Say hello')]

it('runs on one copy of @langchain/core: the integrations are built on the version the handler sees', () => {
  // On the SDK floor, @langchain/core is its oldest supported version: LangChain's integrations must load
  // that one too (a run on two versions at once is an install nobody has).
  const models = [new ChatOpenAI({ apiKey: 'test', configuration: { baseURL } }), new ChatAnthropic({ apiKey: 'test' })]
  for (const model of models) expect(model).toBeInstanceOf(BaseChatModel)
})

function setup(policies: QuotaPolicy[] = [userDaily], options: Partial<TokenQuotaCallbackHandlerOptions> = {}) {
  const warnings: WarningEvent[] = []
  const quota = createTokenQuota({ policies, on: { warning: (event) => warnings.push(event) } })
  const handler = new TokenQuotaCallbackHandler({ quota, context: { user: 'alice' }, ...options })
  const used = async (model?: string) => (await quota.status({ user: 'alice' }, { model }))[0]!
  return { quota, handler, used, warnings }
}

const chatModel = (model = 'gpt-4o', extra: Record<string, unknown> = {}) =>
  new ChatOpenAI({ model, apiKey: 'sk-test', configuration: { baseURL }, maxRetries: 0, ...extra })

describe('TokenQuotaCallbackHandler with ChatOpenAI', () => {
  it('charges an invoke with the usage the model reported', async () => {
    const { handler, used } = setup()
    server.reply('/chat/completions', json(chatCompletion({ usage: { prompt: 19, completion: 10 } })))
    const answer = await chatModel().invoke(question, { callbacks: [handler] })
    expect(answer.content).toBe('Hello! How can I assist you today?')
    expect(await used()).toMatchObject({ used: 29, reserved: 0 })
    expect(handler.openRuns).toBe(0)
  })

  it("names the run's provider to the price table: chatgpt-4o-latest is priced only under OpenAI", async () => {
    const orgUsd: QuotaPolicy = { name: 'user-usd', identifier: 'user', count: 'usd', allow: 5, interval: 1, timeUnit: 'day' }
    const { handler, used } = setup([orgUsd])
    server.reply('/chat/completions', json(chatCompletion({ model: 'chatgpt-4o-latest', usage: { prompt: 19, completion: 10 } })))
    await chatModel('chatgpt-4o-latest').invoke(question, { callbacks: [handler] })
    expect(await used()).toMatchObject({ used: countedPrice('chatgpt-4o-latest', { input: 19, output: 10 }, { providerId: 'openai' }), reserved: 0 })
  })

  it('refuses a run before any provider request, surfacing TokenQuotaExceededError', async () => {
    const { handler, used } = setup([{ ...userDaily, allow: 500 }])
    const error = await chatModel('gpt-4o', { maxTokens: 1000 })
      .invoke(question, { callbacks: [handler] })
      .catch((caught: unknown) => caught)
    expect(TokenQuotaExceededError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ code: 'RequestTooLarge', policy: 'user-daily' })
    expect(server.calls).toHaveLength(0)
    expect(await used()).toMatchObject({ used: 0, reserved: 0 })
  })

  it('works as a constructor callback, with the context taken from the run metadata', async () => {
    const { quota } = setup()
    const handler = new TokenQuotaCallbackHandler({ quota, context: (run) => ({ user: run.metadata.user_id as string }) })
    server.reply('/chat/completions', json(chatCompletion()))
    const model = chatModel('gpt-4o', { callbacks: [handler] })
    await model.invoke(question, { metadata: { user_id: 'bob' } })
    expect(await quota.status({ user: 'bob' })).toMatchObject([{ used: 29 }])
  })

  it('takes the caller from the ambient withContext scope, and refuses a run with no caller', async () => {
    const { quota } = setup()
    const handler = new TokenQuotaCallbackHandler({ quota })
    server.reply('/chat/completions', json(chatCompletion()))
    await quota.withContext({ user: 'carol' }, () => chatModel().invoke(question, { callbacks: [handler] }))
    expect(await quota.status({ user: 'carol' })).toMatchObject([{ used: 29 }])
    await expect(chatModel().invoke(question, { callbacks: [handler] })).rejects.toSatisfy(
      (error: unknown) => QuotaInputError.isInstance(error) && error.code === 'UnresolvedIdentifier',
    )
    expect(server.calls).toHaveLength(1)
  })

  it('charges a streamed run exactly, from its usage chunk', async () => {
    const { handler, used } = setup()
    server.reply('/chat/completions', sse(chatChunks({ includeUsage: true, usage: { prompt: 19, completion: 7 } })))
    let text = ''
    for await (const chunk of await chatModel().stream(question, { callbacks: [handler] })) text += chunk.content
    expect(text).toBe('Hello! How can I help?')
    expect(server.calls[0]!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } })
    expect(await used()).toMatchObject({ used: 26, reserved: 0 })
  })

  it('charges a streamed run that breaks mid-way for what it streamed', async () => {
    const upstream = await startResettingServer(chatChunks({ includeUsage: true, words: ['one', ' two', ' three', ' four'] }).slice(0, 5))
    try {
      const { handler, used } = setup()
      const model = new ChatOpenAI({ model: 'gpt-4o', apiKey: 'sk-test', configuration: { baseURL: upstream.baseURL }, maxRetries: 0, maxTokens: 1000 })
      let text = ''
      await expect(
        (async () => {
          for await (const chunk of await model.stream(question, { callbacks: [handler] })) text += chunk.content
        })(),
      ).rejects.toThrow()
      expect(text).toBe('one two three four')
      expect(await used()).toMatchObject({ used: oneMessageFraming + estimateTokens('Say hello') + estimateTokens('one two three four'), reserved: 0 })
    } finally {
      upstream.close()
    }
  })

  it('charges a streamed run its consumer breaks off, once it has gone quiet, and forgets it', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    try {
      const { handler, used } = setup([userDaily], { abandonedRunMs: 30_000 })
      server.reply('/chat/completions', sse(chatChunks({ includeUsage: true, words: Array.from({ length: 40 }, () => ' abcd') })))
      for (let run = 0; run < 3; run += 1) {
        let chunks = 0
        for await (const _ of await chatModel('gpt-4o', { maxTokens: 2000 }).stream(question, { callbacks: [handler] })) if (++chunks === 30) break
      }
      expect(handler.openRuns).toBe(3)
      expect((await used()).used).toBe(0)
      await vi.advanceTimersByTimeAsync(30_000)
      expect(handler.openRuns).toBe(0)
      const { used: charged, reserved } = await used()
      expect(reserved).toBe(0)
      // Each: prompt 7 and about 30 streamed tokens (" abcd" is one token), far less than the 2000
      // reserved and than the 40 of the whole answer.
      expect(charged).toBeGreaterThanOrEqual(3 * (7 + 25))
      expect(charged).toBeLessThan(3 * (7 + 40))
    } finally {
      vi.useRealTimers()
    }
  })

  it('charges the reservation of runs aborted after they reached the provider', async () => {
    const { handler, used } = setup()
    server.reply('/chat/completions', hang())
    const model = chatModel('gpt-4o', { maxTokens: 200 })
    const held = await abortOnceArrived({
      server,
      held: async () => (await used()).reserved,
      start: (signal) => model.invoke(question, { callbacks: [handler], signal }),
    })
    expect(held).toBeGreaterThanOrEqual(5 * 200)
    await vi.waitFor(async () => expect(await used()).toMatchObject({ used: held, reserved: 0 }))
    expect(handler.openRuns).toBe(0)
  })

  it('charges a run with n choices its usage once (LangChain copies it onto every choice)', async () => {
    const { handler, used } = setup()
    const completion = chatCompletion({ usage: { prompt: 100, completion: 30 } })
    server.reply('/chat/completions', json({ ...completion, choices: [0, 1, 2].map((index) => ({ ...completion.choices[0]!, index })) }))
    await chatModel('gpt-4o', { n: 3 }).invoke(question, { callbacks: [handler] })
    expect(await used()).toMatchObject({ used: 130, reserved: 0 })
  })

  it('charges each run of a batch, with one handler serving concurrent runs', async () => {
    const { handler, used } = setup()
    server.reply('/chat/completions', json(chatCompletion({ usage: { prompt: 10, completion: 5 } })))
    await chatModel().batch([question, question, question, question], { callbacks: [handler] })
    expect(await used()).toMatchObject({ used: 60, reserved: 0 })
    expect(handler.openRuns).toBe(0)
  })

  it('releases a run that fails before producing output', async () => {
    const { handler, used } = setup()
    server.reply('/chat/completions', json({ error: { message: 'The server had an error', type: 'server_error' } }, 500))
    await expect(chatModel().invoke(question, { callbacks: [handler] })).rejects.toThrow()
    expect(await used()).toMatchObject({ used: 0, reserved: 0 })
  })

  it('charges an estimate, never zero, when the provider reports no usage', async () => {
    const { handler, used, warnings } = setup()
    const answer = 'An answer that came back without any usage.'
    const prompt = 'A question whose answer carries no usage.'
    server.reply('/chat/completions', json(chatCompletion({ usage: null, content: answer })))
    await chatModel().invoke([new HumanMessage(prompt)], { callbacks: [handler] })
    expect(await used()).toMatchObject({ used: oneMessageFraming + estimateTokens(prompt) + estimateTokens(answer) })
    expect(warnings.map((warning) => warning.code)).toEqual(['UsageMissing'])
  })

  it('falls through withFallbacks to a cheaper model, which is charged', async () => {
    const { handler, quota } = setup([
      { name: 'gpt-4o-daily', identifier: 'user', allow: 1000, interval: 1, timeUnit: 'day', models: ['gpt-4o'] },
      { name: 'mini-daily', identifier: 'user', allow: 100_000, interval: 1, timeUnit: 'day', models: ['gpt-4o-mini'] },
    ])
    server.reply('/chat/completions', json(chatCompletion({ model: 'gpt-4o-mini', usage: { prompt: 19, completion: 10 } })))
    const model = chatModel('gpt-4o', { maxTokens: 2000 }).withFallbacks({ fallbacks: [chatModel('gpt-4o-mini', { maxTokens: 2000 })] })
    const answer = await model.invoke(question, { callbacks: [handler] })
    expect(answer.content).toBe('Hello! How can I assist you today?')
    expect(server.calls.map((call) => call.body?.model)).toEqual(['gpt-4o-mini'])
    expect(await quota.status({ user: 'alice' }, { model: 'gpt-4o-mini' })).toMatchObject([{ name: 'mini-daily', used: 29 }])
    expect(await quota.status({ user: 'alice' }, { model: 'gpt-4o' })).toMatchObject([{ name: 'gpt-4o-daily', used: 0, reserved: 0 }])
  })

  it('charges the legacy LLM class from llmOutput.tokenUsage', async () => {
    const { handler, used } = setup()
    server.reply('/completions', json(textCompletion({ usage: { prompt: 5, completion: 7 } })))
    const llm = new OpenAI({ model: 'gpt-3.5-turbo-instruct', apiKey: 'sk-test', configuration: { baseURL }, maxRetries: 0, maxTokens: 7 })
    await llm.invoke('Say this is a test', { callbacks: [handler] })
    expect(await used()).toMatchObject({ used: 12, reserved: 0 })
  })
})

describe('TokenQuotaCallbackHandler with another provider (ChatAnthropic)', () => {
  it('reads the model name and usage from the run, so per-model policies apply', async () => {
    const { handler, quota } = setup([{ name: 'claude-daily', identifier: 'user', allow: 10_000, interval: 1, timeUnit: 'day', models: ['claude-sonnet-*'] }])
    server.reply('/v1/messages', json(anthropicMessage({ input: 12, output: 9 })))
    const model = new ChatAnthropic({ model: 'claude-sonnet-4-5', apiKey: 'sk-ant-test', anthropicApiUrl: anthropicBaseURL, maxRetries: 0, maxTokens: 500 })
    const answer = await model.invoke(question, { callbacks: [handler] })
    expect(answer.content).toBe('Hello! How can I help you today?')
    expect(await quota.status({ user: 'alice' }, { model: 'claude-sonnet-4-5' })).toMatchObject([{ name: 'claude-daily', used: 21, reserved: 0 }])
  })
})

describe('TokenQuotaCallbackHandler in an agent', () => {
  /** An agent with one tool, whose model first calls the tool (95 tokens), then answers (128 tokens). */
  function weatherAgent() {
    server.reply(
      '/chat/completions',
      json(chatCompletion({ id: 'chatcmpl-tool', toolCall: { name: 'get_weather', arguments: '{"city":"Paris"}' }, usage: { prompt: 80, completion: 15 } })),
      json(chatCompletion({ id: 'chatcmpl-answer', content: 'It is sunny in Paris.', usage: { prompt: 120, completion: 8 } })),
    )
    const getWeather = tool(({ city }) => `sunny in ${city}`, {
      name: 'get_weather',
      description: 'Current weather in a city',
      schema: z.object({ city: z.string() }),
    })
    return createAgent({ model: chatModel(), tools: [getWeather] })
  }

  it('charges every model call of a tool-using agent run', async () => {
    const { handler, used } = setup()
    const agent = weatherAgent()
    const result = await agent.invoke({ messages: [new HumanMessage('Weather in Paris?')] }, { callbacks: [handler] })
    expect(result.messages.at(-1)?.content).toBe('It is sunny in Paris.')
    expect(server.calls).toHaveLength(2)
    expect(await used()).toMatchObject({ used: 95 + 128, reserved: 0 })
  })

  it('stops an agent when its budget runs out, with TokenQuotaExceededError', async () => {
    const { handler, used } = setup([{ ...userDaily, allow: 4200 }], { defaultMaxOutputTokens: 4000 })
    const agent = weatherAgent()
    const error = await agent.invoke({ messages: [new HumanMessage('Weather in Paris?')] }, { callbacks: [handler] }).catch((caught: unknown) => caught)
    expect(TokenQuotaExceededError.isInstance(error)).toBe(true)
    expect(server.calls).toHaveLength(1)
    expect(await used()).toMatchObject({ used: 95, reserved: 0 })
  })
})
