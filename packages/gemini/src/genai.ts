import type { MeteredCall } from '@tokenquota/core'
import { beginCall } from './begin-call.js'
import { meterResponses } from './metered-generator.js'
import type { WithTokenQuotaOptions } from './options.js'
import { estimateGeminiPrompt } from './prompt.js'
import { textOfCandidates, usageOfMetadata } from './usage.js'

type Json = Record<string, unknown>
type Params = { model: string; contents?: unknown; config?: Json; [key: string]: unknown }

/** The parts of `@google/genai`'s `GoogleGenAI` that are metered. */
export interface GoogleGenAILike {
  models: {
    generateContent(params: never): Promise<unknown>
    generateContentStream(params: never): Promise<AsyncGenerator<unknown>>
    embedContent(params: never): Promise<unknown>
    countTokens(params: never): Promise<unknown>
  }
}

type Models = {
  generateContent(params: Params): Promise<unknown>
  generateContentStream(params: Params): Promise<AsyncGenerator<unknown>>
  embedContent(params: Params): Promise<unknown>
  countTokens(params: Params): Promise<{ totalTokens?: number }>
}

/** A ready fallback answer, as an SDK `GenerateContentResponse` (its `.text` getter works). */
async function fallbackResponse(answer: string | Json, model: string | undefined): Promise<unknown> {
  if (typeof answer !== 'string') return answer
  const { GenerateContentResponse } = await import('@google/genai')
  return Object.assign(new GenerateContentResponse(), {
    candidates: [{ content: { role: 'model', parts: [{ text: answer }] }, finishReason: 'STOP', index: 0 }],
    usageMetadata: { promptTokenCount: 0, candidatesTokenCount: 0, totalTokenCount: 0 },
    modelVersion: model,
  })
}

/**
 * Meters `ai.models.generateContent`, `generateContentStream` and `embedContent` by replacing
 * them on the client's `models` instance (they are instance properties). Chats from
 * `ai.chats.create()` call that same instance, so they are metered too.
 */
export function instrumentGenAI(ai: GoogleGenAILike, options: WithTokenQuotaOptions): void {
  const models = ai.models as unknown as Models
  const original = {
    generateContent: models.generateContent.bind(models),
    generateContentStream: models.generateContentStream.bind(models),
    embedContent: models.embedContent.bind(models),
    countTokens: models.countTokens.bind(models),
  }
  const estimator = options.estimator ?? options.quota.estimator

  async function promptTokens(params: Params, output: boolean): Promise<number> {
    if (options.countTokens) {
      const counted = await original.countTokens({ model: params.model, contents: params.contents })
      if (typeof counted.totalTokens === 'number') return counted.totalTokens
    }
    return estimateGeminiPrompt(
      estimator,
      { contents: [params.contents], systemInstruction: params.config?.systemInstruction, tools: params.config?.tools },
      output ? 'generate' : 'embed',
    )
  }

  async function begin(label: string, params: Params, output: boolean) {
    const maxOutputTokens = output ? (params.config?.maxOutputTokens as number | undefined) : 0
    const candidates = output ? positiveInteger(params.config?.candidateCount) : undefined
    const begun = await beginCall(options, {
      label,
      model: params.model,
      params,
      promptTokens: await promptTokens(params, output),
      maxOutputTokens,
      candidates,
    })
    if (begun.kind === 'response') return begun
    const config = begun.maxOutputTokens === undefined ? params.config : { ...params.config, maxOutputTokens: begun.maxOutputTokens }
    return { ...begun, params: { ...params, model: begun.model ?? params.model, ...(config && { config }) } }
  }

  async function settle<T>(call: MeteredCall, params: Params, run: () => Promise<T>, charge: (result: T) => Promise<void>): Promise<T> {
    const result = await call.send(params.config?.abortSignal as AbortSignal | undefined, run)
    await charge(result)
    return result
  }

  models.generateContent = async (params) => {
    const begun = await begin('generateContent', params, true)
    if (begun.kind === 'response') return fallbackResponse(begun.response, params.model)
    return settle(
      begun.call,
      begun.params,
      () => original.generateContent(begun.params),
      (response) => begun.call.commitUsage(usageOfMetadata((response as Json).usageMetadata), textOfCandidates(response)),
    )
  }

  models.generateContentStream = async (params) => {
    const begun = await begin('generateContentStream', params, true)
    if (begun.kind === 'response') {
      const response = await fallbackResponse(begun.response, params.model)
      return (async function* () {
        yield response
      })()
    }
    const stream = await settle(
      begun.call,
      begun.params,
      () => original.generateContentStream(begun.params),
      async () => undefined,
    )
    return meterResponses(stream, begun.call)
  }

  // Gemini's embedding responses carry no usage: the prompt estimate is charged.
  models.embedContent = async (params) => {
    const begun = await begin('embedContent', params, false)
    if (begun.kind === 'response') return begun.response
    return settle(
      begun.call,
      begun.params,
      () => original.embedContent(begun.params),
      () => begun.call.commitEstimate(''),
    )
  }
}

function positiveInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined
}
