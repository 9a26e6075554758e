import { BaseCallbackHandler } from '@langchain/core/callbacks/base'
import type { BaseMessage } from '@langchain/core/messages'
import type { LLMResult } from '@langchain/core/outputs'
import type { Serialized } from '@langchain/core/load/serializable'
import type { QuotaContext, QuotaLease, TokenEstimator, TokenQuota, Usage } from '@tokenquota/core'
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
}

interface OpenRun {
  readonly lease: QuotaLease
  readonly promptTokens: number
  /** Streamed tokens so far, to charge a run that fails mid-stream for what it produced. */
  produced: string
}

type Json = Record<string, unknown>

function textOf(content: unknown): string {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return content === undefined || content === null ? '' : JSON.stringify(content)
  return content.map((part) => (typeof part === 'string' ? part : typeof (part as Json)?.text === 'string' ? ((part as Json).text as string) : JSON.stringify(part))).join('')
}

function positiveInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined
}

/** Per-message framing tokens in chat formats. */
const messageOverhead = 4

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

  /** Runs reserved and not yet settled (runs that never end expire with their lease). */
  get openRuns(): number {
    return this.#runs.size
  }

  override async handleChatModelStart(llm: Serialized, messages: BaseMessage[][], runId: string, parentRunId?: string, extraParams?: Json, tags?: string[], metadata?: Json, runName?: string): Promise<void> {
    const texts = messages.flat().map((message) => textOf(message.content) + (message.name ?? '') + textOf((message as { tool_calls?: unknown }).tool_calls ?? ''))
    const framing = messages.flat().length * messageOverhead
    await this.#start({ llm, texts, framing, runId, parentRunId, extraParams, tags, metadata, runName })
  }

  override async handleLLMStart(llm: Serialized, prompts: string[], runId: string, parentRunId?: string, extraParams?: Json, tags?: string[], metadata?: Json, runName?: string): Promise<void> {
    await this.#start({ llm, texts: prompts, framing: 0, runId, parentRunId, extraParams, tags, metadata, runName })
  }

  override async handleLLMNewToken(token: string, _index: unknown, runId: string): Promise<void> {
    const run = this.#runs.get(runId)
    if (run) run.produced += token
  }

  override async handleLLMEnd(output: LLMResult, runId: string): Promise<void> {
    const run = this.#take(runId)
    if (!run) return
    const usage = usageOfResult(output)
    await this.#commit(run, usage, output.generations.flat().map((generation) => generation.text).join(''))
  }

  override async handleLLMError(_error: Error, runId: string): Promise<void> {
    const run = this.#take(runId)
    if (!run) return
    // A run that failed after streaming output is charged for it; one that produced nothing is free.
    if (run.produced === '') await run.lease.release().catch(() => undefined)
    else await this.#commit(run, undefined, run.produced)
  }

  #take(runId: string): OpenRun | undefined {
    const run = this.#runs.get(runId)
    this.#runs.delete(runId)
    return run
  }

  async #commit(run: OpenRun, usage: Usage | undefined, outputText: string): Promise<void> {
    const { quota } = this.#options
    try {
      if (usage) {
        await run.lease.commit(usage)
        return
      }
    } catch {
      // Malformed usage: charge an estimate below.
    }
    quota.emit('warning', { code: 'UsageMissing', message: 'A LangChain run ended without usable token usage; charging an estimate' })
    const estimator = this.#options.estimator ?? quota.estimator
    try {
      const output = outputText === '' ? 0 : await estimator(outputText)
      await run.lease.commit({ input: run.promptTokens, output }, { estimated: true })
    } catch {
      // Store failures are reported by the engine's events; the lease expires on its own.
    }
  }

  async #start(run: {
    llm: Serialized
    texts: readonly string[]
    framing: number
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
    const model = [metadata.ls_model_name, invocation.model, invocation.model_name, invocation.modelName, kwargs.model, kwargs.model_name].find((value): value is string => typeof value === 'string')
    const info: RunInfo = { runId: run.runId, parentRunId: run.parentRunId, model, tags: run.tags ?? [], metadata, runName: run.runName }
    const option = this.#options.context
    // Merged over the ambient withContext() scope by the engine.
    const context = typeof option === 'function' ? option(info) : option

    const estimator = this.#options.estimator ?? quota.estimator
    let promptTokens = run.framing
    for (const text of run.texts) promptTokens += await estimator(text)
    const maxOutput =
      [metadata.ls_max_tokens, invocation.max_completion_tokens, invocation.max_tokens, invocation.maxTokens, invocation.max_output_tokens, invocation.maxOutputTokens]
        .map(positiveInteger)
        .find((value) => value !== undefined) ?? this.#options.defaultMaxOutputTokens ?? 4096
    const choices = positiveInteger(invocation.n) ?? 1

    const lease = await quota.reserve(context, { estimate: { input: promptTokens, output: maxOutput * choices }, model })
    this.#runs.set(run.runId, { lease, promptTokens, produced: '' })
  }
}
