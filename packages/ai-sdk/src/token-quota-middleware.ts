import { MeteredCall, reserveCall, type QuotaContext, type StreamAbortCharge, type TokenEstimator, type TokenQuota } from '@tokenquota/core'
import { estimatePrompt, framingOfProvider } from '@tokenquota/core/adapter'
import { aiSdkPrompt } from './prompt.js'
import { usageOfResult } from './usage.js'

type Json = Record<string, unknown>

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

export interface TokenQuotaMiddlewareOptions {
  /** The engine, from `createTokenQuota()`. */
  readonly quota: TokenQuota
  /** Who is calling, when no `quota.withContext()` scope is active. */
  readonly context?: (params: Readonly<Json>) => QuotaContext | undefined
  /**
   * When the wrapped model's reservation is refused: a cheaper model to run the call on instead,
   * as a map from model id (followed as a chain) or a function. The fallback model is reserved and
   * charged under its own id.
   */
  readonly fallback?: Readonly<Record<string, LanguageModelLike>> | ((info: ModelFallbackInfo) => LanguageModelLike | undefined)
  /** Prompt-token estimator. @default the quota's estimator */
  readonly estimator?: TokenEstimator
  /** Output tokens reserved when the call sets no `maxOutputTokens`. @default 4096 */
  readonly defaultMaxOutputTokens?: number
  /** What a stream that stops early is charged. @default 'produced' */
  readonly onStreamAbort?: StreamAbortCharge
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
    const context = quota.currentContext() === undefined ? options.context?.(params) : undefined
    const promptTokens = await estimatePrompt(aiSdkPrompt(params), framingOfProvider(model.provider), estimator)
    const output = typeof params.maxOutputTokens === 'number' ? params.maxOutputTokens : (options.defaultMaxOutputTokens ?? 4096)
    fallbackModels.set(model.modelId, model)
    const reservation = await reserveCall({
      quota,
      context,
      estimate: { input: promptTokens, output },
      model: model.modelId,
      params,
      fallback: ({ model: refused, error, context: eventContext }) => {
        const current = refused === undefined ? undefined : fallbackModels.get(refused)
        const next = current && fallbackFor(current, error, eventContext)
        if (!next) return undefined
        fallbackModels.set(next.modelId, next)
        return next.modelId
      },
    })
    if (reservation.kind !== 'lease') throw new TypeError('The AI SDK middleware falls back to models only')
    const runOn = reservation.model === model.modelId ? undefined : fallbackModels.get(reservation.model!)
    const call = new MeteredCall({
      label: `${model.provider ?? 'model'}:${reservation.model}`,
      lease: reservation.lease,
      promptTokens,
      quota,
      estimator,
      onStreamAbort: options.onStreamAbort,
    })
    const clamped = reservation.lease.maxOutputTokens === undefined ? params : { ...params, maxOutputTokens: reservation.lease.maxOutputTokens }
    return { call, runOn, params: clamped }
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
  const reader = source.getReader()
  let produced = ''
  let finished: Promise<void> | undefined
  return new ReadableStream<Json>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read()
        if (done) {
          await (finished ?? call.commitUsage(undefined, produced))
          controller.close()
          return
        }
        if (value.type === 'text-delta' || value.type === 'reasoning-delta') produced += String(value.delta ?? value.textDelta ?? '')
        else if (value.type === 'tool-input-delta') produced += String(value.delta ?? '')
        else if (value.type === 'finish') finished ??= call.commitUsage(usageOfResult(value.usage), produced)
        controller.enqueue(value)
      } catch (error) {
        await (finished ?? call.commitInterrupted(produced))
        controller.error(error)
      }
    },
    async cancel(reason) {
      await (finished ?? call.commitInterrupted(produced))
      await reader.cancel(reason).catch(() => undefined)
    },
  })
}
