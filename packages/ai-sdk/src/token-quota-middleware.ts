import type { QuotaContext } from '@tokenquota/core'
import {
  type AdapterOptions,
  callerContext,
  estimatePrompt,
  framingOfProvider,
  type MeteredCall,
  meterReadableStream,
  reserveCall,
  StreamMeter,
  type Json,
} from '@tokenquota/core/adapter'
import { aiSdkPrompt } from './prompt.js'
import { usageOfResult } from './usage.js'

/** The parts of an AI SDK language model (any specification version) the middleware uses. */
export interface LanguageModelLike {
  readonly modelId: string
  readonly provider?: string
  doGenerate(options: never): PromiseLike<unknown>
  doStream(options: never): PromiseLike<unknown>
}

/** What a fallback function learns about a refused call. */
export interface ModelFallbackInfo {
  readonly model: LanguageModelLike
  readonly error: Error
  readonly context: QuotaContext
}

/**
 * When the wrapped model's reservation is refused: a cheaper model to run the call on instead, as a
 * map from model id (followed as a chain) or a function. The fallback model is reserved and charged
 * under its own id.
 */
export type ModelFallback = Readonly<Record<string, LanguageModelLike>> | ((info: ModelFallbackInfo) => LanguageModelLike | undefined)

/** The adapter options, less `cache`: the middleware falls back to models only, never to a ready answer. */
export interface TokenQuotaMiddlewareOptions extends Omit<AdapterOptions<[params: Readonly<Json>], ModelFallback>, 'cache'> {
  /** Output tokens reserved when the call sets no `maxOutputTokens`. @default 4096 */
  readonly defaultMaxOutputTokens?: number
}

/** What the AI SDK passes to `wrapGenerate` / `wrapStream` (generic, so every spec version fits). */
interface CallArguments<Generated, Streamed> {
  doGenerate: () => PromiseLike<Generated>
  doStream: () => PromiseLike<Streamed>
  params: object
  model: LanguageModelLike
}

/**
 * A language-model middleware that reserves before every `doGenerate` / `doStream` of the wrapped
 * model and charges the result's usage (or the stream's `finish` part), so `generateText`,
 * `streamText`, `generateObject`, `streamObject` and every step of a tool loop are charged.
 *
 * @example
 * const model = wrapLanguageModel({ model: openai('gpt-4o'), middleware: tokenQuotaMiddleware({ quota }) })
 */
export function tokenQuotaMiddleware(options: TokenQuotaMiddlewareOptions) {
  const { quota } = options
  const estimator = options.estimator ?? quota.estimator
  const fallbackModels = new Map<string, LanguageModelLike>()

  function fallbackFor(model: LanguageModelLike, error: Error, context: QuotaContext): LanguageModelLike | undefined {
    const { fallback } = options
    if (!fallback) return undefined
    return typeof fallback === 'function' ? fallback({ model, error, context }) : fallback[model.modelId]
  }

  async function begin({ params: callParams, model }: CallArguments<unknown, unknown>) {
    const params = callParams as Json
    // The model's own tokenizer is bounded only when no fallback can send the prompt to another.
    const estimatedFor = options.fallback === undefined ? model.modelId : undefined
    const promptTokens = await estimatePrompt(aiSdkPrompt(params), framingOfProvider(model.provider), estimator, estimatedFor)
    const outputTokens = typeof params.maxOutputTokens === 'number' ? params.maxOutputTokens : (options.defaultMaxOutputTokens ?? 4096)
    fallbackModels.set(model.modelId, model)
    const reservation = await reserveCall(
      {
        ...options,
        cache: undefined,
        fallback: ({ model: refused, error, context: eventContext }) => {
          const current = refused === undefined ? undefined : fallbackModels.get(refused)
          const next = current && fallbackFor(current, error, eventContext)
          if (!next) return undefined
          fallbackModels.set(next.modelId, next)
          return next.modelId
        },
      },
      {
        label: (reserved) => `${model.provider ?? 'model'}:${reserved}`,
        context: callerContext(options, params),
        promptTokens,
        outputTokens,
        model: model.modelId,
        // `openai.chat`, `anthropic.messages`, `google.generative-ai`: the provider is the first part.
        provider: model.provider?.split('.')[0],
        params,
      },
    )
    if (reservation.kind !== 'metered') throw new TypeError('The AI SDK middleware falls back to models only')
    const { call } = reservation
    const runOn = reservation.model === model.modelId ? undefined : fallbackModels.get(reservation.model!)
    const clamp = call.lease.maxOutputTokens
    return { call, runOn, params: clamp === undefined ? params : { ...params, maxOutputTokens: clamp } }
  }

  return {
    async wrapGenerate<Generated, Streamed>(args: CallArguments<Generated, Streamed>): Promise<Generated> {
      const { call, runOn, params } = await begin(args)
      const result = await call.send((params as { abortSignal?: AbortSignal }).abortSignal, async () =>
        runOn || params !== args.params ? ((await (runOn ?? args.model).doGenerate(params as never)) as Generated) : args.doGenerate(),
      )
      const content = (result as { content?: Json[]; text?: string }).content
      const text = Array.isArray(content)
        ? content.map((part) => (typeof part.text === 'string' ? part.text : JSON.stringify(part.input ?? ''))).join('')
        : ((result as { text?: string }).text ?? '')
      await call.commitUsage(usageOfResult((result as { usage?: unknown }).usage), text)
      return result
    },

    // `any`: each spec version has its own stream part type; the parts are read structurally.
    // biome-ignore lint/suspicious/noExplicitAny: each spec version has its own stream part type
    async wrapStream<Generated, Streamed extends { stream: ReadableStream<any> }>(args: CallArguments<Generated, Streamed>): Promise<Streamed> {
      const { call, runOn, params } = await begin(args)
      const result = await call.send((params as { abortSignal?: AbortSignal }).abortSignal, async () =>
        runOn || params !== args.params ? ((await (runOn ?? args.model).doStream(params as never)) as Streamed) : args.doStream(),
      )
      return { ...result, stream: meterParts(result.stream as ReadableStream<Json>, call) }
    },
  }
}

/** Passes stream parts through; charges the `finish` part's usage, or what was produced when the stream stops early. */
function meterParts(source: ReadableStream<Json>, call: MeteredCall): ReadableStream<Json> {
  const meter = new StreamMeter(call)
  return meterReadableStream(source, meter, (part) => {
    if (part.type === 'text-delta' || part.type === 'reasoning-delta') meter.text(String(part.delta ?? part.textDelta ?? ''))
    else if (part.type === 'tool-input-delta') meter.text(String(part.delta ?? ''))
    else if (part.type === 'finish') void meter.usage(usageOfResult(part.usage))
    return part
  })
}
