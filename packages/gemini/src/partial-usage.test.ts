import { GoogleGenAI } from '@google/genai'
import { GoogleGenerativeAI } from '@google/generative-ai'
import { estimateTokens } from '@tokenquota/core'
import { createProviderServer, dailyQuota, geminiChunks, geminiResponse, json, sse } from '@tokenquota/test-support'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { withTokenQuota } from './with-token-quota.js'

// Gemini leaves out a count that is 0: a missing count is malformed only when what came says it
// cannot be 0 — the prompt's always, the output's when output parts came.
const server = createProviderServer()
beforeAll(() => server.listen())
afterEach(() => server.reset())
afterAll(() => server.close())

const api = (model: string, method: string, version = 'v1beta') => `/${version}/models/${model}:${method}`
/** Gemini's framing of a one-turn prompt (9 tokens) and `Say hello`. */
const promptEstimate = 4 + 1 + 4 + estimateTokens('Say hello')
const answer = 'An answer whose output count the usage left out is not free. '.repeat(4)

function setup() {
  const { quota, warnings, as: asAlice, used } = dailyQuota()
  const genai = withTokenQuota(new GoogleGenAI({ apiKey: 'test-key', apiVersion: 'v1' }), { quota })
  const generativeAI = withTokenQuota(new GoogleGenerativeAI('test-key'), { quota }).getGenerativeModel({ model: 'gemini-1.5-flash' })
  return { genai, generativeAI, asAlice, used, warnings }
}

/** A response with `text` (none: a blocked answer, no content) and this `usageMetadata`. */
function response(text: string | undefined, usageMetadata: Record<string, number>) {
  const body = geminiResponse({ usage: null, ...(text !== undefined && { text }) })
  const candidates = text === undefined ? [{ finishReason: 'SAFETY', index: 0 }] : body.candidates
  return { ...body, candidates, usageMetadata }
}

describe('@google/genai', () => {
  it('charges output that came without candidatesTokenCount its estimate, with the prompt count', async () => {
    const { genai, asAlice, used, warnings } = setup()
    server.reply(api('gemini-2.5-flash', 'generateContent', 'v1'), json(response(answer, { promptTokenCount: 1000, totalTokenCount: 1000 })))
    await asAlice(() => genai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'Say hello' }))
    expect(await used()).toMatchObject({ used: 1000 + estimateTokens(answer), reserved: 0 })
    expect(warnings.map((warning) => warning.code)).toEqual(['UsageMissing'])
  })

  it('charges an answer without output its prompt count alone, quietly: Gemini omits a 0', async () => {
    const { genai, asAlice, used, warnings } = setup()
    server.reply(api('gemini-2.5-flash', 'generateContent', 'v1'), json(response(undefined, { promptTokenCount: 1000, totalTokenCount: 1000 })))
    await asAlice(() => genai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'Say hello' }))
    expect(await used()).toMatchObject({ used: 1000, reserved: 0 })
    expect(warnings.map((warning) => warning.code)).toEqual(['EstimateLow'])
  })

  it('charges a stream whose final usage lacks candidatesTokenCount the estimate of the text streamed', async () => {
    const { genai, asAlice, used, warnings } = setup()
    const words = ['Streamed', ' text', ' is', ' output']
    const chunks = geminiChunks({ words })
    const last = chunks.at(-1)!
    server.reply(
      api('gemini-2.5-flash', 'streamGenerateContent', 'v1'),
      sse([...chunks.slice(0, -1), { ...last, usageMetadata: { promptTokenCount: 1000, totalTokenCount: 1000 } }], { done: false }),
    )
    for await (const _ of await asAlice(() => genai.models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'Say hello' })));
    expect(await used()).toMatchObject({ used: 1000 + estimateTokens(words.join('')), reserved: 0 })
    expect(warnings.map((warning) => warning.code)).toEqual(['UsageMissing'])
  })

  // A negative share is malformed: added to the prompt count, it charged { prompt 1000, toolUse -990 } 10.
  it('charges a usage whose tool-use prompt count is negative the estimate, never less than its prompt count', async () => {
    const { genai, asAlice, used, warnings } = setup()
    const usageMetadata = { promptTokenCount: 1000, candidatesTokenCount: 60, toolUsePromptTokenCount: -990, totalTokenCount: 70 }
    server.reply(api('gemini-2.5-flash', 'generateContent', 'v1'), json(response(answer, usageMetadata)))
    await asAlice(() => genai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'Say hello' }))
    expect((await used()).used).toBeGreaterThanOrEqual(1000 + 60)
    expect(warnings.map((warning) => warning.code)).toEqual(['UsageMissing'])
  })

  it('charges a malformed usage at least its valid counts: { prompt 20, candidates 10, total 0 } is 30', async () => {
    const { genai, asAlice, used } = setup()
    expect(promptEstimate + estimateTokens('Hi')).toBeLessThan(20)
    const body = response('Hi', { promptTokenCount: 20, candidatesTokenCount: 10, totalTokenCount: 0 })
    server.reply(api('gemini-2.5-flash', 'generateContent', 'v1'), json(body))
    await asAlice(() => genai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'Say hello' }))
    expect(await used()).toMatchObject({ used: 30, reserved: 0 })
  })
})

describe('@google/generative-ai', () => {
  it('charges a usage without promptTokenCount the prompt estimate, and at least the output count', async () => {
    const { generativeAI, asAlice, used, warnings } = setup()
    server.reply(api('gemini-1.5-flash', 'generateContent'), json(response(answer, { candidatesTokenCount: 200, totalTokenCount: 200 })))
    await asAlice(() => generativeAI.generateContent('Say hello'))
    expect(await used()).toMatchObject({ used: promptEstimate + 200, reserved: 0 })
    expect(warnings.map((warning) => warning.code)).toEqual(['UsageMissing'])
  })

  it('charges a stream whose final usage lacks candidatesTokenCount the estimate of its text', async () => {
    const { generativeAI, asAlice, used, warnings } = setup()
    const chunks = geminiChunks({ words: ['Only', ' the', ' response', ' is', ' read'] })
    const last = chunks.at(-1)!
    server.reply(
      api('gemini-1.5-flash', 'streamGenerateContent'),
      sse([...chunks.slice(0, -1), { ...last, usageMetadata: { promptTokenCount: 1000, totalTokenCount: 1000 } }], { done: false }),
    )
    await (await asAlice(() => generativeAI.generateContentStream('Say hello'))).response
    await vi.waitFor(async () => expect(await used()).toMatchObject({ used: 1000 + estimateTokens('Only the response is read'), reserved: 0 }))
    expect(warnings.map((warning) => warning.code)).toEqual(['UsageMissing'])
  })
})
