import { QuotaConfigError } from '@tokenquota/core'
import { type MeteredCall, StreamMeter, type Json, positiveInteger } from '@tokenquota/core/adapter'
import { beginCall, modelName } from './begin-call.js'
import type { WithTokenQuotaOptions } from './options.js'
import { estimateGeminiPrompt } from './prompt.js'
import { answerOfCandidates, carriesOutput, textOfCandidates, usageOfMetadata } from './usage.js'

/** The part of `@google/generative-ai`'s `GoogleGenerativeAI` that is metered. */
export interface GoogleGenerativeAILike {
  getGenerativeModel(params: never, requestOptions?: never): unknown
}

interface ModelParams {
  model: string
  generationConfig?: Json
  [key: string]: unknown
}

interface GenerateResult {
  response: Json
}

interface StreamResult {
  stream: AsyncGenerator<Json>
  response: Promise<Json>
}

interface GenerativeModel {
  model: string
  generationConfig: Json
  systemInstruction?: unknown
  tools?: unknown
  generateContent(request: unknown, requestOptions?: unknown): Promise<GenerateResult>
  generateContentStream(request: unknown, requestOptions?: unknown): Promise<StreamResult>
  startChat(params?: Json): ChatSession
  embedContent(request: unknown, requestOptions?: unknown): Promise<unknown>
  batchEmbedContents(request: unknown, requestOptions?: unknown): Promise<unknown>
}

interface ChatSession {
  model: string
  params?: Json
  getHistory(): Promise<unknown[]>
  sendMessage(request: unknown, requestOptions?: unknown): Promise<GenerateResult>
  sendMessageStream(request: unknown, requestOptions?: unknown): Promise<StreamResult>
}

/** The model name without its `models/` prefix, as policies name it. */
/** The response shape of this SDK (`text()` and friends are functions here), for a ready answer. */
function fallbackResult(answer: string | Json): GenerateResult {
  if (typeof answer !== 'string') return { response: answer }
  return {
    response: {
      candidates: [{ content: { role: 'model', parts: [{ text: answer }] }, finishReason: 'STOP', index: 0 }],
      usageMetadata: { promptTokenCount: 0, candidatesTokenCount: 0, totalTokenCount: 0 },
      text: () => answer,
      functionCall: () => undefined,
      functionCalls: () => undefined,
    },
  }
}

function fallbackStream(answer: string | Json): StreamResult {
  const { response } = fallbackResult(answer)
  return {
    stream: (async function* () {
      yield response
    })(),
    response: Promise.resolve(response),
  }
}

/** Charges a `{ stream, response }` result from its final response, which the SDK resolves even when only the stream is read. */
function meterStreamResult(result: StreamResult, call: MeteredCall): StreamResult {
  const meter = new StreamMeter(call)
  const source = result.stream
  const stream = (async function* () {
    for await (const chunk of source) {
      meter.text(textOfCandidates(chunk))
      meter.answer(answerOfCandidates(chunk))
      yield chunk
    }
  })()
  result.response.then(
    (response) => meter.usage(usageOfMetadata(response.usageMetadata, carriesOutput(response)), textOfCandidates(response)),
    () => meter.stop(),
  )
  return { stream, response: result.response }
}

/** One metered call: estimate, reserve (with fallbacks), send on the model that was reserved, charge. */
async function metered<R>(
  options: WithTokenQuotaOptions,
  call: {
    label: string
    model: GenerativeModel
    request: unknown
    /** A chat's history, sent along with the request. */
    history?: unknown
    maxOutputTokens: number | undefined
    /** The request's abort signal (`SingleRequestOptions.signal`). */
    signal?: AbortSignal
    /** Sends on `model`; `maxOutputTokens` is set when a per-request cap clamped the output (per candidate). */
    send: (model: string, maxOutputTokens: number | undefined) => Promise<R>
    /** Builds the result from a ready fallback response. */
    answer: (response: string | Json) => R
    charge: (result: R, metered: MeteredCall) => R | Promise<R>
  },
): Promise<R> {
  const { model, request } = call
  const params = (typeof request === 'object' && request !== null ? request : { contents: request }) as Json
  const prompt = { contents: [call.history, request], systemInstruction: model.systemInstruction, tools: model.tools }
  const promptTokens = await estimateGeminiPrompt(options.estimator ?? options.quota.estimator, prompt, call.maxOutputTokens === 0 ? 'embed' : 'generate')
  const candidates = positiveInteger(configOf(model, request).candidateCount)
  const begun = await beginCall(options, {
    label: call.label,
    model: modelName(model.model),
    params,
    promptTokens,
    maxOutputTokens: call.maxOutputTokens,
    candidates,
  })
  if (begun.kind === 'response') return call.answer(begun.response)
  const result = await begun.call.send(call.signal, () => call.send(begun.model ?? modelName(model.model), begun.maxOutputTokens))
  return call.charge(result, begun.call)
}

function maxOutputOf(model: GenerativeModel, request: unknown): number | undefined {
  return configOf(model, request).maxOutputTokens as number | undefined
}

async function chargeResult(result: GenerateResult, call: MeteredCall): Promise<GenerateResult> {
  const { response } = result
  await call.commitUsage(usageOfMetadata(response.usageMetadata, carriesOutput(response)), textOfCandidates(response), {
    answer: () => answerOfCandidates(response),
  })
  return result
}

function instrumentChat(options: WithTokenQuotaOptions, model: GenerativeModel, session: ChatSession): ChatSession {
  const sendMessage = session.sendMessage.bind(session)
  const sendMessageStream = session.sendMessageStream.bind(session)
  // A chat keeps its model: a model fallback does not apply to it (a ready response does).
  const sameModel = (name: string) => {
    if (name !== modelName(session.model))
      throw new TypeError('A model fallback cannot switch the model of a @google/generative-ai chat; answer with a response instead')
  }
  /** A chat message, sent on the session's own model and output cap. */
  const chatCall = async <R>(label: string, request: unknown, requestOptions: unknown, send: () => Promise<R>) => ({
    label,
    model,
    request,
    history: await session.getHistory(),
    maxOutputTokens: maxOutputOf(model, session.params),
    signal: signalOf(requestOptions),
    send: async (name: string, cap: number | undefined) => {
      sameModel(name)
      fitsChat(cap)
      return send()
    },
  })
  session.sendMessage = async (request, requestOptions) =>
    metered(options, {
      ...(await chatCall('sendMessage', request, requestOptions, () => sendMessage(request, requestOptions))),
      answer: fallbackResult,
      charge: chargeResult,
    })
  session.sendMessageStream = async (request, requestOptions) =>
    metered(options, {
      ...(await chatCall('sendMessageStream', request, requestOptions, () => sendMessageStream(request, requestOptions))),
      answer: fallbackStream,
      charge: meterStreamResult,
    })
  return session
}

function instrumentModel(
  options: WithTokenQuotaOptions,
  client: GenerativeAIClient,
  model: GenerativeModel,
  params: ModelParams,
  requestOptions: unknown,
): GenerativeModel {
  const own = {
    generateContent: model.generateContent.bind(model),
    generateContentStream: model.generateContentStream.bind(model),
  }
  const embedContent = model.embedContent.bind(model)
  const batchEmbedContents = model.batchEmbedContents.bind(model)
  const startChat = model.startChat.bind(model)
  // The unmetered methods of the model a call was reserved for: this one, or a fallback made with the same parameters.
  const reservedModel = (name: string) => (name === modelName(model.model) ? own : client.getGenerativeModel({ ...params, model: name }, requestOptions))

  model.generateContent = (request, options_) =>
    metered(options, {
      label: 'generateContent',
      model,
      request,
      maxOutputTokens: maxOutputOf(model, request),
      signal: signalOf(options_),
      send: (name, cap) => reservedModel(name).generateContent(withOutputCap(model, request, cap), options_),
      answer: fallbackResult,
      charge: chargeResult,
    })
  model.generateContentStream = (request, options_) =>
    metered(options, {
      label: 'generateContentStream',
      model,
      request,
      maxOutputTokens: maxOutputOf(model, request),
      signal: signalOf(options_),
      send: (name, cap) => reservedModel(name).generateContentStream(withOutputCap(model, request, cap), options_),
      answer: fallbackStream,
      charge: meterStreamResult,
    })
  // Embedding responses carry no usage: the prompt estimate is charged.
  const embed = (label: string, embedder: (request: unknown, options_?: unknown) => Promise<unknown>) => (request: unknown, options_?: unknown) =>
    metered(options, {
      label,
      model,
      request,
      maxOutputTokens: 0,
      signal: signalOf(options_),
      send: () => embedder(request, options_),
      answer: (response) => response,
      charge: async (result, call) => {
        await call.commitEstimate('')
        return result
      },
    })
  model.embedContent = embed('embedContent', embedContent)
  model.batchEmbedContents = embed('batchEmbedContents', batchEmbedContents)
  model.startChat = (chatParams) => instrumentChat(options, model, startChat(chatParams))
  return model
}

/**
 * Meters `@google/generative-ai`: every model from `getGenerativeModel()` has its
 * `generateContent`, `generateContentStream`, `embedContent` and `batchEmbedContents` metered, and
 * its chats (`startChat()`) their `sendMessage` / `sendMessageStream` (which do not go through the
 * model's methods). A model fallback runs the request on a model made with the same parameters.
 */
export function instrumentGenerativeAI(genAI: GoogleGenerativeAILike, options: WithTokenQuotaOptions): void {
  const client = genAI as unknown as GenerativeAIClient
  const unmetered: GenerativeAIClient = { getGenerativeModel: client.getGenerativeModel.bind(client) }
  client.getGenerativeModel = (params, requestOptions) =>
    instrumentModel(options, unmetered, unmetered.getGenerativeModel(params, requestOptions), params, requestOptions)
}

type GenerativeAIClient = { getGenerativeModel(params: ModelParams, requestOptions?: unknown): GenerativeModel }

/** The abort signal of a call's `SingleRequestOptions`, if any. */
function signalOf(requestOptions: unknown): AbortSignal | undefined {
  const signal = (requestOptions as { signal?: unknown } | undefined)?.signal
  return signal instanceof AbortSignal ? signal : undefined
}

/** The generation config a call runs with: the request's replaces the model's (as the SDK does). */
function configOf(model: GenerativeModel, request: unknown): Json {
  return (request as { generationConfig?: Json } | undefined)?.generationConfig ?? model.generationConfig ?? {}
}

/** The request with its output capped at `maxOutputTokens` (a clamp), in the SDK's request shape. */
function withOutputCap(model: GenerativeModel, request: unknown, maxOutputTokens: number | undefined): unknown {
  if (maxOutputTokens === undefined) return request
  const asParts = (parts: unknown[]) => parts.map((part) => (typeof part === 'string' ? { text: part } : part))
  const full =
    typeof request === 'string'
      ? { contents: [{ role: 'user', parts: [{ text: request }] }] }
      : Array.isArray(request)
        ? { contents: [{ role: 'user', parts: asParts(request) }] }
        : (request as Json)
  return { ...full, generationConfig: { ...configOf(model, request), maxOutputTokens } }
}

/**
 * A chat cannot lower its output cap per message (the SDK sends the session's generation config),
 * so a clamp that would need it refuses instead of sending more than the cap allows.
 */
function fitsChat(maxOutputTokens: number | undefined): void {
  if (maxOutputTokens === undefined) return
  throw new QuotaConfigError({
    code: 'InvalidConfiguration',
    field: 'maxTokensPerRequest',
    message: `a per-request cap clamps this chat message's output to ${maxOutputTokens} tokens, but a @google/generative-ai chat sends its session's generationConfig: start the chat with generationConfig.maxOutputTokens ≤ ${maxOutputTokens}, or use action: 'refuse'`,
  })
}
