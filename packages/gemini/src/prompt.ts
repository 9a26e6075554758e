import type { TokenEstimator } from '@tokenquota/core'
import { estimatePrompt, geminiFraming, noFraming, type Prompt, type PromptMessage } from '@tokenquota/core/adapter'

/** Gemini's cost of an image or video frame part, in tokens (one 768 px tile). */
const mediaTokens = 258
const maxDepth = 8

/** Collects the texts of any Gemini parts shape (string, Part, arrays of them), returning the fixed media costs. */
function collect(value: unknown, texts: string[], depth: number): number {
  if (depth > maxDepth || value === undefined || value === null) return 0
  if (typeof value === 'string') {
    texts.push(value)
    return 0
  }
  if (Array.isArray(value)) return value.reduce((fixed: number, item) => fixed + collect(item, texts, depth + 1), 0)
  if (typeof value !== 'object') return 0
  const part = value as Record<string, unknown>
  if (typeof part.text === 'string') {
    texts.push(part.text)
    return 0
  }
  if (part.inlineData !== undefined || part.fileData !== undefined) return mediaTokens
  if (part.functionCall !== undefined || part.functionResponse !== undefined) {
    texts.push(JSON.stringify(part.functionCall ?? part.functionResponse))
    return 0
  }
  // Containers: a Content, a request, a batch of requests.
  for (const key of ['parts', 'contents', 'content', 'requests']) {
    if (key in part) return collect(part[key], texts, depth + 1)
  }
  texts.push(JSON.stringify(part))
  return 0
}

function isContent(value: unknown): value is { role?: unknown; parts: unknown } {
  return typeof value === 'object' && value !== null && 'parts' in value
}

/** The turns of a `contents` value: each Content is one, anything else (a string, parts) is one user turn. */
function turnsOf(contents: unknown, depth = 0): PromptMessage[] {
  if (contents === undefined || contents === null) return []
  if (Array.isArray(contents) && contents.some(isContent)) return contents.flatMap((item) => turnsOf(item, depth + 1))
  if (typeof contents === 'object' && !Array.isArray(contents) && depth < maxDepth) {
    const container = contents as Record<string, unknown>
    for (const key of ['contents', 'requests']) if (key in container) return turnsOf(container[key], depth + 1)
  }
  const texts: string[] = []
  const fixedTokens = collect(contents, texts, depth)
  const role = isContent(contents) && typeof contents.role === 'string' ? contents.role : 'user'
  return [{ role, texts, fixedTokens }]
}

/** What a Gemini request sends as its prompt: history and contents as turns, the system instruction, tools. */
export function geminiPrompt(request: { contents: unknown[]; systemInstruction?: unknown; tools?: unknown }): Prompt {
  const texts: string[] = []
  const fixedTokens = collect(request.systemInstruction, texts, 0)
  const tools = Array.isArray(request.tools)
    ? request.tools.map((tool) => JSON.stringify(tool))
    : request.tools === undefined
      ? undefined
      : [JSON.stringify(request.tools)]
  return { messages: request.contents.flatMap((contents) => turnsOf(contents)), texts, tools, fixedTokens }
}

/** Estimates the prompt tokens of a Gemini request; embeddings have no turn framing. */
export function estimateGeminiPrompt(
  estimator: TokenEstimator,
  request: { contents: unknown[]; systemInstruction?: unknown; tools?: unknown },
  kind: 'generate' | 'embed' = 'generate',
): number | Promise<number> {
  return estimatePrompt(geminiPrompt(request), kind === 'embed' ? noFraming : geminiFraming, estimator)
}
