import { beginCall } from './begin-call.js'
import { meterResponses } from './metered-generator.js'
import type { WithTokenQuotaOptions } from './options.js'
import { estimateGeminiPrompt } from './prompt.js'
import { answerOfCandidates, carriesOutput, textOfCandidates, usageOfMetadata } from './usage.js'
import { type Json, positiveInteger } from '@tokenquota/core/adapter'

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

/** The prompt's tokens: counted by the API when `countTokens` is on, else estimated. */
async function promptTokens(options: WithTokenQuotaOptions, countTokens: Models['countTokens'], params: Params, output: boolean): Promise<number> {
  if (options.countTokens) {
    const counted = await countTokens({ model: params.model, contents: params.contents })
    if (typeof counted.totalTokens === 'number') return counted.totalTokens
  }
  return estimateGeminiPrompt(
    options.estimator ?? options.quota.estimator,
    { contents: [params.contents], systemInstruction: params.config?.systemInstruction, tools: params.config?.tools },
    output ? 'generate' : 'embed',
  )
}

/** Estimates and reserves one call; the params to send carry the reserved model and any clamped output cap. */
async function begin(options: WithTokenQuotaOptions, countTokens: Models['countTokens'], label: string, params: Params, output: boolean) {
  const maxOutputTokens = output ? (params.config?.maxOutputTokens as number | undefined) : 0
  const candidates = output ? positiveInteger(params.config?.candidateCount) : undefined
  const tokens = await promptTokens(options, countTokens, params, output)
  const begun = await beginCall(options, { label, model: params.model, params, promptTokens: tokens, maxOutputTokens, candidates })
  if (begun.kind === 'response') return begun
  const config = begun.maxOutputTokens === undefined ? params.config : { ...params.config, maxOutputTokens: begun.maxOutputTokens }
  return { ...begun, params: { ...params, model: begun.model ?? params.model, ...(config && { config }) } }
}

function signalOf(params: Params): AbortSignal | undefined {
  return params.config?.abortSignal as AbortSignal | undefined
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
  const start = (label: string, params: Params, output: boolean) => begin(options, original.countTokens, label, params, output)

  models.generateContent = async (params) => {
    const begun = await start('generateContent', params, true)
    if (begun.kind === 'response') return fallbackResponse(begun.response, params.model)
    const response = await begun.call.send(signalOf(begun.params), () => original.generateContent(begun.params))
    await begun.call.commitUsage(usageOfMetadata((response as Json).usageMetadata, carriesOutput(response)), textOfCandidates(response), {
      answer: () => answerOfCandidates(response),
    })
    return response
  }

  models.generateContentStream = async (params) => {
    const begun = await start('generateContentStream', params, true)
    if (begun.kind === 'response') {
      const response = await fallbackResponse(begun.response, params.model)
      return (async function* () {
        yield response
      })()
    }
    const stream = await begun.call.send(signalOf(begun.params), () => original.generateContentStream(begun.params))
    return meterResponses(stream, begun.call)
  }

  // Gemini's embedding responses carry no usage: the prompt estimate is charged.
  models.embedContent = async (params) => {
    const begun = await start('embedContent', params, false)
    if (begun.kind === 'response') return begun.response
    const response = await begun.call.send(signalOf(begun.params), () => original.embedContent(begun.params))
    await begun.call.commitEstimate('')
    return response
  }
}
