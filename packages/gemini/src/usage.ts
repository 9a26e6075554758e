import type { Usage } from '@tokenquota/core'
import type { Json } from '@tokenquota/core/adapter'

/**
 * Usage from Gemini's `usageMetadata`. The charge is `totalTokenCount`, which includes thinking
 * and tool-use prompt tokens; the split counts the tool-use prompt as input and thoughts as output.
 */
export function usageOfMetadata(metadata: unknown): Usage | undefined {
  if (typeof metadata !== 'object' || metadata === null) return undefined
  const meta = metadata as Json
  const count = (key: string) => (meta[key] === undefined || meta[key] === null ? 0 : (meta[key] as number))
  const input = count('promptTokenCount') + count('toolUsePromptTokenCount')
  const output = count('candidatesTokenCount') + count('thoughtsTokenCount')
  const total = meta.totalTokenCount === undefined ? input + output : (meta.totalTokenCount as number)
  if (!total && !input && !output) return undefined
  return { input, output, total, cachedInput: count('cachedContentTokenCount'), reasoning: count('thoughtsTokenCount') }
}

/**
 * The answer as its reader sees it: the one candidate's text parts, never thoughts; `undefined`
 * for several candidates or a function call.
 */
export function answerOfCandidates(response: unknown): string | undefined {
  const candidates = (response as { candidates?: unknown } | undefined)?.candidates
  if (!Array.isArray(candidates)) return ''
  if (candidates.length > 1) return undefined
  let text = ''
  for (const part of ((candidates[0] as { content?: { parts?: unknown } } | undefined)?.content?.parts as Json[] | undefined) ?? []) {
    if (part?.functionCall !== undefined || part?.executableCode !== undefined) return undefined
    if (typeof part?.text === 'string' && part.thought !== true) text += part.text
  }
  return text
}

/** The text of a response's candidates (for estimating output when usage is missing). */
export function textOfCandidates(response: unknown): string {
  const candidates = (response as { candidates?: unknown } | undefined)?.candidates
  if (!Array.isArray(candidates)) return ''
  let text = ''
  for (const candidate of candidates) {
    const parts = (candidate as { content?: { parts?: unknown } })?.content?.parts
    if (!Array.isArray(parts)) continue
    for (const part of parts) {
      const value = part as Json
      if (typeof value.text === 'string') text += value.text
      else if (value.functionCall !== undefined) text += JSON.stringify(value.functionCall)
    }
  }
  return text
}
