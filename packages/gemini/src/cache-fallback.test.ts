import { GoogleGenAI } from '@google/genai'
import { createTokenQuota, ResponseCache } from '@tokenquota/core'
import { createProviderServer, geminiResponse, json, sse } from '@tokenquota/test-support'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { withTokenQuota } from './with-token-quota.js'

const server = createProviderServer()
beforeAll(() => server.listen())
afterEach(() => server.reset())
afterAll(() => server.close())

const model = 'gemini-2.5-flash'
const ask = { model, contents: 'Capital of France?', config: { maxOutputTokens: 300 } }
/** A response whose first part is a thought summary (`includeThoughts`). */
const thoughtful = () => {
  const body = geminiResponse({ text: 'Paris.', usage: { prompt: 10, candidates: 20, thoughts: 350 } })
  const candidate = body.candidates[0]!
  return {
    ...body,
    candidates: [
      { ...candidate, content: { ...candidate.content, parts: [{ text: 'SECRET-THOUGHT about capitals', thought: true }, ...candidate.content.parts] } },
    ],
  }
}

function overBudget() {
  const quota = createTokenQuota({ policies: [{ name: 'user-daily', identifier: 'user', allow: 400, interval: 1, timeUnit: 'day' }] })
  const ai = withTokenQuota(new GoogleGenAI({ apiKey: 'test-key', apiVersion: 'v1' }), { quota, cache: new ResponseCache() })
  const as = <T>(fn: () => Promise<T>) => quota.withContext({ user: 'alice' }, fn)
  return { ai, as }
}

describe('fallback: cache, through the Gemini adapter', () => {
  it('serves the visible text, never the thought summary, plain', async () => {
    const { ai, as } = overBudget()
    server.reply(`/v1/models/${model}:generateContent`, json(thoughtful()))
    await as(() => ai.models.generateContent(ask))
    const again = await as(() => ai.models.generateContent(ask))
    expect(server.calls).toHaveLength(1)
    expect(again.text).toBe('Paris.')
    expect(JSON.stringify(again)).not.toMatch(/SECRET/)
  })

  it('serves the visible text, never the thought summary, streamed first', async () => {
    const { ai, as } = overBudget()
    const chunk = thoughtful()
    const candidate = chunk.candidates[0]!
    const parts = candidate.content.parts
    const chunks = [
      { ...chunk, candidates: [{ ...candidate, content: { ...candidate.content, parts: [parts[0]] } }], usageMetadata: { promptTokenCount: 10 } },
      { ...chunk, candidates: [{ ...candidate, content: { ...candidate.content, parts: [parts[1]] } }] },
    ]
    server.reply(`/v1/models/${model}:streamGenerateContent`, sse(chunks, { done: false }))
    for await (const _ of await as(() => ai.models.generateContentStream(ask))) {
      // drained
    }
    const again = await as(() => ai.models.generateContent(ask))
    expect(server.calls).toHaveLength(1)
    expect(again.text).toBe('Paris.')
  })
})
