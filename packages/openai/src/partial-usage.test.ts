import { estimateTokens } from '@tokenquota/core'
import { baseURL, chatChunks, chatCompletion, createProviderServer, dailyQuota, json, responseEvents, responseObject, sse } from '@tokenquota/test-support'
import OpenAI from 'openai'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { withTokenQuota } from './with-token-quota.js'

// Usage that lacks a count, through the SDK's HTTP: malformed, charged an estimate of the prompt and
// of the output received, never less than the counts that came, and reported (`UsageMissing`).
const server = createProviderServer()
beforeAll(() => server.listen())
afterEach(() => server.reset())
afterAll(() => server.close())

const messages = [{ role: 'user' as const, content: 'Say hello' }]
/** The prompt estimate of `messages`: OpenAI's chat framing of one message (7) and its text. */
const promptEstimate = 3 + 1 + 3 + estimateTokens('Say hello')
const answer = 'A usage report without its output count must not make the answer free. '.repeat(4)

function setup() {
  const { quota, warnings, as: asAlice, used } = dailyQuota()
  const client = withTokenQuota(new OpenAI({ apiKey: 'sk-test', baseURL, maxRetries: 0 }), { quota })
  return { client, asAlice, used, warnings }
}

async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream);
}

describe('usage without its output or prompt count', () => {
  it('charges a chat answer the prompt count and an estimate of the output received, not 0 output', async () => {
    const { client, asAlice, used, warnings } = setup()
    server.reply(
      '/chat/completions',
      json({ ...chatCompletion({ content: answer }), usage: { prompt_tokens: 1000, total_tokens: 1000 } }),
      json({ ...chatCompletion({ content: answer }), usage: { prompt_tokens: 1000, completion_tokens: null, total_tokens: 1000 } }),
    )
    await asAlice(() => client.chat.completions.create({ model: 'gpt-4o', messages }))
    expect(await used()).toMatchObject({ used: 1000 + estimateTokens(answer), reserved: 0 })
    await asAlice(() => client.chat.completions.create({ model: 'gpt-4o', messages }))
    expect(await used()).toMatchObject({ used: 2 * (1000 + estimateTokens(answer)), reserved: 0 })
    expect(warnings.map((warning) => warning.code)).toEqual(['UsageMissing', 'UsageMissing'])
  })

  it('charges an answer without its prompt count the prompt estimate', async () => {
    const { client, asAlice, used, warnings } = setup()
    server.reply('/chat/completions', json({ ...chatCompletion({ content: answer }), usage: { completion_tokens: 40 } }))
    await asAlice(() => client.chat.completions.create({ model: 'gpt-4o', messages }))
    expect(await used()).toMatchObject({ used: promptEstimate + Math.max(40, estimateTokens(answer)) })
    expect(warnings.map((warning) => warning.code)).toEqual(['UsageMissing'])
  })

  // A prompt always costs: { prompt_tokens: 0 } beside an answer charged its output alone.
  it('charges a usage that counts no prompt tokens for a prompt the prompt estimate', async () => {
    const { client, asAlice, used, warnings } = setup()
    server.reply('/chat/completions', json({ ...chatCompletion({ content: answer }), usage: { prompt_tokens: 0, completion_tokens: 40, total_tokens: 40 } }))
    await asAlice(() => client.chat.completions.create({ model: 'gpt-4o', messages }))
    expect(await used()).toMatchObject({ used: promptEstimate + Math.max(40, estimateTokens(answer)) })
    expect(warnings.map((warning) => warning.code)).toEqual(['UsageMissing'])
  })

  it('charges a streamed chat answer whose usage chunk lacks the output count', async () => {
    const { client, asAlice, used, warnings } = setup()
    const words = ['Counting', ' what', ' came', ' in', ' the', ' stream']
    const chunks = chatChunks({ includeUsage: true, words })
    const last = chunks.at(-1)!
    server.reply('/chat/completions', sse([...chunks.slice(0, -1), { ...last, usage: { prompt_tokens: 1000, total_tokens: 1000 } }]))
    await drain(await asAlice(() => client.chat.completions.create({ model: 'gpt-4o', messages, stream: true })))
    expect(await used()).toMatchObject({ used: 1000 + estimateTokens(words.join('')), reserved: 0 })
    expect(warnings.map((warning) => warning.code)).toEqual(['UsageMissing'])
  })

  it('charges a Responses API answer without output_tokens, plain and streamed', async () => {
    const { client, asAlice, used, warnings } = setup()
    const plain = responseObject({ text: answer })
    server.reply('/responses', json({ ...plain, usage: { input_tokens: 500, output_tokens: null, total_tokens: 500 } }))
    await asAlice(() => client.responses.create({ model: 'gpt-4.1', input: 'Say hello' }))
    const plainCharge = 500 + estimateTokens(JSON.stringify(plain.output))
    expect(await used()).toMatchObject({ used: plainCharge, reserved: 0 })

    const events = responseEvents({ words: ['Streamed', ' without', ' an', ' output', ' count'] })
    const completed = events.at(-1)!
    const response = { ...((completed.data as { response?: object }).response ?? {}), usage: { input_tokens: 500 } }
    server.reply('/responses', sse([...events.slice(0, -1), { ...completed, data: { ...completed.data, response } }], { done: false }))
    await drain(await asAlice(() => client.responses.create({ model: 'gpt-4.1', input: 'Say hello', stream: true })))
    expect(await used()).toMatchObject({ used: plainCharge + 500 + estimateTokens('Streamed without an output count'), reserved: 0 })
    expect(warnings.map((warning) => warning.code)).toEqual(['UsageMissing', 'UsageMissing'])
  })
})

describe('malformed usage is never charged less than its valid counts', () => {
  it('charges { prompt 20, completion 10, total 0 } 30 tokens, not the smaller estimate', async () => {
    const { client, asAlice, used, warnings } = setup()
    // The estimate (the prompt's, and 1 token for "Hi") stays below the 30 the valid counts say.
    expect(promptEstimate + estimateTokens('Hi')).toBeLessThan(20)
    server.reply('/chat/completions', json({ ...chatCompletion({ content: 'Hi' }), usage: { prompt_tokens: 20, completion_tokens: 10, total_tokens: 0 } }))
    await asAlice(() => client.chat.completions.create({ model: 'gpt-4o', messages }))
    expect(await used()).toMatchObject({ used: 30, reserved: 0 })
    expect(warnings.map((warning) => warning.code)).toEqual(['UsageMissing'])
  })

  it('charges a valid total above the estimate when the output count is missing', async () => {
    const { client, asAlice, used } = setup()
    server.reply('/chat/completions', json({ ...chatCompletion({ content: 'Hi' }), usage: { prompt_tokens: 20, total_tokens: 40 } }))
    await asAlice(() => client.chat.completions.create({ model: 'gpt-4o', messages }))
    expect(await used()).toMatchObject({ used: 40, reserved: 0 })
  })
})

// vLLM's `stream_options.continuous_usage_stats` (and servers that send zeros) put usage on every
// chunk: the first one's, { prompt 1000, completion 1 }, settled the call for a 9-word answer.
describe('usage on every chunk of a stream', () => {
  const words = ['Counting', ' as', ' it', ' streams', ' is', ' not', ' the', ' final', ' count']
  const running = (counts: (index: number) => object) =>
    chatChunks({ words, usage: { prompt: 1000, completion: 9 }, includeUsage: true }).map((chunk, index) =>
      chunk.choices.length > 0 ? { ...chunk, usage: counts(index) } : chunk,
    )

  it.each([
    // The role chunk counts 0, each word 1, the finish chunk the final 9.
    ['cumulative counts', (index: number) => ({ prompt_tokens: 1000, completion_tokens: Math.min(index, 9), total_tokens: 1000 + Math.min(index, 9) })],
    ['zeros', () => ({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 })],
  ])('charges the final usage, not the first chunk’s (%s)', async (_name, counts) => {
    const { client, asAlice, used, warnings } = setup()
    server.reply('/chat/completions', sse(running(counts)))
    await asAlice(async () => drain(await client.chat.completions.create({ model: 'gpt-4o', messages, stream: true })))
    expect(await used()).toMatchObject({ used: 1009, reserved: 0 })
    expect(warnings.map((warning) => warning.code)).toEqual(['EstimateLow'])
  })

  it('charges the last running count when neither a finish nor a final usage chunk counts', async () => {
    const { client, asAlice, used } = setup()
    const chunks = running((index) => ({ prompt_tokens: 1000, completion_tokens: index, total_tokens: 1000 + index }))
    server.reply('/chat/completions', sse(chunks.filter((chunk) => chunk.choices.some((choice) => choice.finish_reason === null))))
    await asAlice(async () => drain(await client.chat.completions.create({ model: 'gpt-4o', messages, stream: true })))
    expect(await used()).toMatchObject({ used: 1000 + words.length, reserved: 0 })
  })
})
