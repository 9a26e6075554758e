import { BaseCallbackHandler } from '@langchain/core/callbacks/base'
import type { BaseMessage } from '@langchain/core/messages'
import type { LLMResult } from '@langchain/core/outputs'
import type { Serialized } from '@langchain/core/load/serializable'
import type { QuotaContext, TokenEstimator, TokenQuota } from '@tokenquota/core'
import {
  estimatePrompt,
  framingOfProvider,
  type MeteredCall,
  noFraming,
  type Prompt,
  type PromptFraming,
  reserveCall,
  StreamMeter,
  type Json,
  positiveInteger,
} from '@tokenquota/core/adapter'
import { usageOfResult } from './usage.js'

/** What the handler knows about a run when it resolves the caller. */
export interface RunInfo {
  readonly runId: string
  readonly parentRunId: string | undefined
  /** The model name, from LangSmith's `ls_model_name` or the invocation parameters. */
  readonly model: string | undefined
  readonly tags: readonly string[]
  readonly metadata: Readonly<Record<string, unknown>>
  readonly runName: string | undefined
}

export interface TokenQuotaCallbackHandlerOptions {
  /** The engine, from `createTokenQuota()`. */
  readonly quota: TokenQuota
  /**
   * Who is calling: an object, or a function of the run (its metadata, tags, model). Without it,
   * the ambient `quota.withContext()` scope is used; with neither, the run is refused (or charged
   * to the policy's `unidentified` bucket).
   */
  readonly context?: QuotaContext | ((run: RunInfo) => QuotaContext | undefined)
  /** Prompt-token estimator. @default the quota's estimator */
  readonly estimator?: TokenEstimator
  /**
   * Output tokens reserved when the model sets no cap (`maxTokens`). A longer answer is still
   * charged in full.
   * @default 4096
   */
  readonly defaultMaxOutputTokens?: number
  /**
   * A streamed run whose consumer stops reading (a `for await` loop broken off) gets neither an
   * end nor an error from LangChain. When no token has come for this long, the run is taken as
   * abandoned and charged the prompt and what it streamed.
   * @default 60_000
   */
  readonly abandonedRunMs?: number
}

interface OpenRun {
  readonly call: MeteredCall
  /** Streamed tokens, to charge a run that fails or is abandoned mid-stream for what it produced. */
  readonly meter: StreamMeter
  /** Fires when a streamed run has gone quiet for `abandonedRunMs`: its consumer stopped reading. */
  abandonment: ReturnType<typeof setTimeout> | undefined
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return content === undefined || content === null ? '' : JSON.stringify(content)
  return content
    .map((part) => (typeof part === 'string' ? part : typeof (part as Json)?.text === 'string' ? ((part as Json).text as string) : JSON.stringify(part)))
    .join('')
}

/** LangChain's message types under the role names providers use. */
const providerRoles: Record<string, string> = { human: 'user', ai: 'assistant', system: 'system', developer: 'developer', tool: 'tool', function: 'function' }

/**
 * A LangChain callback handler that enforces token quotas on every chat model or LLM run it sees:
 * it reserves at the start of the run (throwing `TokenQuotaExceededError` there stops the run
 * before any provider request: `raiseError` is on), commits the run's real usage at its end, and
 * releases on error. Runs are keyed by `runId`, so one handler serves concurrent runs, batches and
 * agents.
 *
 * @example
 * const handler = new TokenQuotaCallbackHandler({ quota, context: { user: 'alice' } })
 * await model.invoke(messages, { callbacks: [handler] })
 */
export class TokenQuotaCallbackHandler extends BaseCallbackHandler {
  name = 'TokenQuotaCallbackHandler'
  override raiseError = true
  override awaitHandlers = true
  readonly #options: TokenQuotaCallbackHandlerOptions
  readonly #runs = new Map<string, OpenRun>()

  constructor(options: TokenQuotaCallbackHandlerOptions) {
    super()
    this.#options = options
  }

  /** Runs reserved and not yet settled. */
  get openRuns(): number {
    return this.#runs.size
  }

  override async handleChatModelStart(
    llm: Serialized,
    messages: BaseMessage[][],
    runId: string,
    parentRunId?: string,
    extraParams?: Json,
    tags?: string[],
    metadata?: Json,
    runName?: string,
  ): Promise<void> {
    const promptMessages = messages.flat().map((message) => ({
      role: providerRoles[message.getType()] ?? message.getType(),
      name: message.name,
      texts: [textOf(message.content), textOf((message as { tool_calls?: unknown }).tool_calls ?? '')],
    }))
    const tools = ((extraParams?.invocation_params as Json | undefined)?.tools ?? undefined) as unknown[] | undefined
    const prompt = { messages: promptMessages, tools: Array.isArray(tools) ? tools.map((tool) => JSON.stringify(tool)) : undefined }
    await this.#start({
      llm,
      prompt,
      framing: framingOfProvider(metadata?.ls_provider as string | undefined),
      runId,
      parentRunId,
      extraParams,
      tags,
      metadata,
      runName,
    })
  }

  override async handleLLMStart(
    llm: Serialized,
    prompts: string[],
    runId: string,
    parentRunId?: string,
    extraParams?: Json,
    tags?: string[],
    metadata?: Json,
    runName?: string,
  ): Promise<void> {
    await this.#start({ llm, prompt: { messages: [], texts: prompts }, framing: noFraming, runId, parentRunId, extraParams, tags, metadata, runName })
  }

  override async handleLLMNewToken(token: string, _index: unknown, runId: string): Promise<void> {
    const run = this.#runs.get(runId)
    if (!run) return
    run.meter.text(token)
    if (run.abandonment) run.abandonment.refresh()
    else {
      run.abandonment = setTimeout(() => void this.#take(runId)?.meter.stop(), this.#options.abandonedRunMs ?? 60_000)
      run.abandonment.unref?.()
    }
  }

  override async handleLLMEnd(output: LLMResult, runId: string): Promise<void> {
    const run = this.#take(runId)
    if (!run) return
    await run.meter.usage(
      usageOfResult(output),
      output.generations
        .flat()
        .map((generation) => generation.text)
        .join(''),
    )
  }

  override async handleLLMError(error: Error, runId: string): Promise<void> {
    const run = this.#take(runId)
    if (!run) return
    // Failed after streaming output: charged for it. Before any: released, unless it was aborted
    // after being sent (the provider bills what it processed).
    if (run.meter.producedText !== '') await run.meter.stop()
    else await run.call.fail(error)
  }

  #take(runId: string): OpenRun | undefined {
    const run = this.#runs.get(runId)
    if (!run) return undefined
    this.#runs.delete(runId)
    clearTimeout(run.abandonment)
    return run
  }

  async #start(run: {
    llm: Serialized
    prompt: Prompt
    framing: PromptFraming
    runId: string
    parentRunId: string | undefined
    extraParams: Json | undefined
    tags: string[] | undefined
    metadata: Json | undefined
    runName: string | undefined
  }): Promise<void> {
    const { quota } = this.#options
    const invocation = (run.extraParams?.invocation_params ?? {}) as Json
    const metadata = run.metadata ?? {}
    const kwargs = ((run.llm as { kwargs?: Json }).kwargs ?? {}) as Json
    const model = [metadata.ls_model_name, invocation.model, invocation.model_name, invocation.modelName, kwargs.model, kwargs.model_name].find(
      (value): value is string => typeof value === 'string',
    )
    const info: RunInfo = { runId: run.runId, parentRunId: run.parentRunId, model, tags: run.tags ?? [], metadata, runName: run.runName }
    const option = this.#options.context
    // Merged over the ambient withContext() scope by the engine.
    const context = typeof option === 'function' ? option(info) : option

    const estimator = this.#options.estimator ?? quota.estimator
    const promptTokens = await estimatePrompt(run.prompt, run.framing, estimator, model)
    const maxOutput =
      [
        metadata.ls_max_tokens,
        invocation.max_completion_tokens,
        invocation.max_tokens,
        invocation.maxTokens,
        invocation.max_output_tokens,
        invocation.maxOutputTokens,
      ]
        .map(positiveInteger)
        .find((value) => value !== undefined) ??
      this.#options.defaultMaxOutputTokens ??
      4096
    const choices = positiveInteger(invocation.n) ?? 1

    const label = `LangChain run of ${model ?? 'a model'}`
    // LangChain names the provider (`openai`, `anthropic`, `google_genai`, …); the price tables know these names.
    const provider = typeof metadata.ls_provider === 'string' ? metadata.ls_provider : undefined
    const reservation = await reserveCall(
      { quota, estimator },
      { label, context, promptTokens, outputTokens: maxOutput * choices, model, provider, params: invocation },
    )
    if (reservation.kind !== 'metered') throw new TypeError('A LangChain run has no fallback response')
    const { call } = reservation
    // The provider request follows this callback, with the run's signal.
    call.sending((run.extraParams?.options as { signal?: AbortSignal } | undefined)?.signal)
    this.#runs.set(run.runId, { call, meter: new StreamMeter(call), abandonment: undefined })
  }
}
