import type { TokenEstimator } from '@tokenquota/core'

/** Gemini's fixed cost of an image or video frame part, in tokens. */
const mediaTokens = 258
const maxDepth = 8

/** Collects the texts of any Gemini `contents` shape (string, Part, Content, arrays of them), plus fixed media costs. */
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

/** Estimates the prompt tokens of everything a request sends: contents, history, system instruction, tools. */
export async function estimatePromptTokens(estimator: TokenEstimator, ...sources: unknown[]): Promise<number> {
  const texts: string[] = []
  let total = 0
  for (const source of sources) total += collect(source, texts, 0)
  for (const text of texts) total += await estimator(text)
  return total
}
