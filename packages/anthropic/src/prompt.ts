import { estimateTokens, type TokenEstimator } from '@tokenquota/core'
import { anthropicFraming, estimatePrompt, type Prompt, type PromptMessage, type Json } from '@tokenquota/core/adapter'

/**
 * Anthropic's largest image cost: an image is resized to fit 1568 px on its long side and costs
 * width × height / 750 tokens, at most ≈1600.
 */
const imageTokens = 1600
const maxDepth = 8

/**
 * The default estimator of Anthropic prompts: the heuristic × 1.2. Claude's tokenizers since
 * Claude 3 are not published; the one Anthropic did publish (Claude 2's) counts up to 1.14× the
 * heuristic on our corpus (Arabic; 0.95–1.05 on numbers and ids), against 1× for OpenAI's o200k.
 */
export const anthropicEstimator = (text: string): number => Math.ceil(estimateTokens(text) * 1.2)

/** What a Messages request is estimated from, and the allowances for parts whose size we cannot read. */
export interface PromptAllowances {
  /** Tokens reserved for one PDF document (sent as base64, URL or file id): its pages are not counted here. */
  readonly documentTokens: number
}

/** Collects the texts of content (a string, a block, blocks), returning the fixed tokens of its media. */
function collect(value: unknown, texts: string[], allowances: PromptAllowances, depth: number): number {
  if (depth > maxDepth || value === undefined || value === null) return 0
  if (typeof value === 'string') {
    texts.push(value)
    return 0
  }
  if (Array.isArray(value)) return value.reduce((fixed: number, item) => fixed + collect(item, texts, allowances, depth + 1), 0)
  if (typeof value !== 'object') return 0
  const block = value as Json
  switch (block.type) {
    case 'text':
      return collect(block.text, texts, allowances, depth + 1)
    case 'image':
      return imageTokens
    case 'document':
      return documentTokens(block, texts, allowances, depth)
    case 'tool_use':
    case 'server_tool_use':
      texts.push(String(block.name ?? ''), JSON.stringify(block.input ?? {}))
      return 0
    case 'tool_result':
      return collect(block.content, texts, allowances, depth + 1)
    case 'thinking':
      return collect(block.thinking, texts, allowances, depth + 1)
    case 'redacted_thinking':
      return collect(block.data, texts, allowances, depth + 1)
    case 'search_result':
      texts.push(String(block.title ?? ''), String(block.source ?? ''))
      return collect(block.content, texts, allowances, depth + 1)
    default:
      texts.push(JSON.stringify(block))
      return 0
  }
}

/** A document: its text when it is plain text or content blocks, else (a PDF) the allowance. */
function documentTokens(block: Json, texts: string[], allowances: PromptAllowances, depth: number): number {
  const source = (block.source ?? {}) as Json
  if (typeof block.title === 'string') texts.push(block.title)
  if (typeof block.context === 'string') texts.push(block.context)
  if (source.type === 'text') return collect(source.data, texts, allowances, depth + 1)
  if (source.type === 'content') return collect(source.content, texts, allowances, depth + 1)
  return allowances.documentTokens
}

function turnOf(message: unknown, allowances: PromptAllowances): PromptMessage {
  const { role, content } = (message ?? {}) as Json
  const texts: string[] = []
  const fixedTokens = collect(content, texts, allowances, 0)
  return { role: typeof role === 'string' ? role : 'user', texts, fixedTokens }
}

/** What a Messages request sends as its prompt: its turns, the system prompt, the tools. */
export function anthropicPrompt(params: Json, allowances: PromptAllowances): Prompt {
  const messages = Array.isArray(params.messages) ? params.messages.map((message) => turnOf(message, allowances)) : []
  const texts: string[] = []
  const fixedTokens = collect(params.system, texts, allowances, 0)
  const tools = Array.isArray(params.tools) && params.tools.length > 0 ? params.tools.map((tool) => JSON.stringify(tool)) : undefined
  // A structured-output schema is compiled into the prompt too.
  const format = (params.output_config as Json | undefined)?.format ?? params.output_format
  if (format !== undefined && format !== null) texts.push(JSON.stringify(format))
  return { messages, texts, tools, fixedTokens }
}

/** Estimates the prompt tokens of a Messages request. Synchronous unless the estimator is. */
export function estimateAnthropicPrompt(estimator: TokenEstimator, params: Json, allowances: PromptAllowances): number | Promise<number> {
  return estimatePrompt(anthropicPrompt(params, allowances), anthropicFraming, estimator)
}
