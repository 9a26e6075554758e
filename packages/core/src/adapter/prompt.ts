import type { EstimateOptions, TokenEstimator } from '../estimate/estimate.js'

/** One message of a prompt, as the provider receives it. */
export interface PromptMessage {
  /** The author's role (`user`, `assistant`, `tool`…). The usual roles are one token each. */
  readonly role?: string
  /** An author name (OpenAI's `name`): its text plus one token. */
  readonly name?: string
  /** The texts it carries: content parts, tool calls and tool results as JSON. */
  readonly texts: readonly string[]
  /** Tokens of parts that are not text (images, audio, files), counted by the provider's own rules. */
  readonly fixedTokens?: number
}

/** A prompt in the shape every provider shares: messages, and what is sent beside them. */
export interface Prompt {
  readonly messages: readonly PromptMessage[]
  /** Texts outside the messages: system instruction, a Responses `instructions`, schemas. */
  readonly texts?: readonly string[]
  /** Tool or function definitions, as sent (JSON). */
  readonly tools?: readonly string[]
  /** Tokens of non-text parts outside the messages, or counted by the adapter (server-side context). */
  readonly fixedTokens?: number
}

/** How a provider frames a prompt around its texts, in tokens. */
export interface PromptFraming {
  /** Every message, beyond its role and texts. */
  readonly perMessage: number
  /** A message that has an author name, beyond the name's text. */
  readonly perName: number
  /** Once per request: the tokens that prime the reply. */
  readonly replyPriming: number
  /** Once per request that defines tools: the provider's own tool-use preamble. */
  readonly toolPreamble: number
  /** Every tool definition, beyond its JSON. */
  readonly perTool: number
  /** Whether the role of a message is sent as tokens (chat formats) or not (plain inputs). */
  readonly countsRoles: boolean
}

/**
 * OpenAI chat completions and Responses: 3 tokens a message, 1 for a name, 3 to prime the reply
 * (OpenAI cookbook, `num_tokens_from_messages`). Tool definitions are rendered by OpenAI in a
 * terser form than their JSON, so their JSON bounds them; a few tokens a tool cover the wrapper.
 */
export const openAIFraming: PromptFraming = { perMessage: 3, perName: 1, replyPriming: 3, toolPreamble: 12, perTool: 4, countsRoles: true }

/** Plain text inputs (completions, embeddings): no framing. */
export const noFraming: PromptFraming = { perMessage: 0, perName: 0, replyPriming: 0, toolPreamble: 0, perTool: 0, countsRoles: false }

/** Gemini: contents are counted as their parts; a turn costs a few tokens of markup at most. */
export const geminiFraming: PromptFraming = { perMessage: 4, perName: 0, replyPriming: 4, toolPreamble: 12, perTool: 4, countsRoles: true }

/**
 * Anthropic Messages: its per-turn markup is not published, so a generous 7 tokens a turn (above
 * OpenAI's and Gemini's), and its documented tool-use system prompt (346 tokens with `tool_choice`
 * auto or none, its largest).
 */
export const anthropicFraming: PromptFraming = { perMessage: 7, perName: 0, replyPriming: 3, toolPreamble: 346, perTool: 4, countsRoles: true }

/**
 * A prompt whose provider is not known (the AI SDK and LangChain wrap any model): a generous
 * framing above OpenAI's and Gemini's (not measured against other providers), with Anthropic's
 * documented tool-use system prompt (346 tokens with `tool_choice` auto, its largest).
 */
export const anyProviderFraming: PromptFraming = { perMessage: 7, perName: 1, replyPriming: 3, toolPreamble: 346, perTool: 4, countsRoles: true }

/**
 * The framing of a provider named by a wrapper (LangChain's `ls_provider`, the AI SDK's
 * `model.provider`): OpenAI's or Gemini's when the name says so, otherwise the largest.
 */
export function framingOfProvider(provider: string | undefined): PromptFraming {
  if (provider === undefined) return anyProviderFraming
  if (/openai|azure/i.test(provider)) return openAIFraming
  if (/google|gemini|vertex/i.test(provider)) return geminiFraming
  if (/anthropic|claude/i.test(provider)) return anthropicFraming
  return anyProviderFraming
}

const singleTokenRoles = new Set(['system', 'developer', 'user', 'assistant', 'tool', 'function', 'model'])

/**
 * Estimates the prompt tokens of a request: every text through `estimator`, plus the provider's
 * framing. Synchronous unless the estimator is (an exact tokenizer still loading). `model`, when
 * given, reaches the estimator (the default one then bounds that model's own tokenizer): pass it
 * only when the call cannot be sent to another model (no fallback), or the estimate may not bound it.
 */
export function estimatePrompt(prompt: Prompt, framing: PromptFraming, estimator: TokenEstimator, model?: string): number | Promise<number> {
  const options: EstimateOptions | undefined = model === undefined ? undefined : { model }
  let fixed = (prompt.fixedTokens ?? 0) + framing.replyPriming
  const texts: string[] = [...(prompt.texts ?? [])]
  for (const message of prompt.messages) {
    fixed += framing.perMessage + (message.fixedTokens ?? 0)
    if (message.role !== undefined && framing.countsRoles) {
      if (singleTokenRoles.has(message.role)) fixed += 1
      else texts.push(message.role)
    }
    if (message.name !== undefined) {
      fixed += framing.perName
      texts.push(message.name)
    }
    texts.push(...message.texts)
  }
  if (prompt.tools !== undefined && prompt.tools.length > 0) {
    fixed += framing.toolPreamble + framing.perTool * prompt.tools.length
    texts.push(...prompt.tools)
  }
  let pending: Promise<number>[] | undefined
  for (const text of texts) {
    if (text === '') continue
    const count = estimator(text, options)
    if (typeof count === 'number') fixed += count
    else {
      pending ??= []
      pending.push(count)
    }
  }
  if (pending === undefined) return fixed
  return Promise.all(pending).then((counts) => counts.reduce((total, count) => total + count, fixed))
}
