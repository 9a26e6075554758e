import type { Usage } from '@tokenquota/core'
import { isObject, type Json } from '@tokenquota/core/adapter'

/**
 * Usage from Gemini's `usageMetadata`. The charge is `totalTokenCount`, which includes thinking
 * and tool-use prompt tokens; the split counts the tool-use prompt as input and thoughts as output.
 * Gemini leaves out a count that is 0, so a missing count is read by what came: a missing
 * `promptTokenCount` is malformed (a prompt always costs), and so is a missing
 * `candidatesTokenCount` when `answered` (the response, or the stream so far, carried output:
 * see {@link carriesOutput}); without output it is 0. Malformed usage is charged an estimate of the
 * prompt and the output received, never less than the counts that came, with a `UsageMissing` warning.
 */
export function usageOfMetadata(metadata: unknown, answered = true): Usage | undefined {
  if (typeof metadata !== 'object' || metadata === null) return undefined
  const meta = metadata as Json
  const missing = (key: string) => meta[key] === undefined || meta[key] === null
  const count = (key: string) => (missing(key) ? 0 : (meta[key] as number))
  const prompt = missing('promptTokenCount') ? Number.NaN : count('promptTokenCount')
  const candidates = answered && missing('candidatesTokenCount') ? Number.NaN : count('candidatesTokenCount')
  // A share that is not a count (negative, fractional) is left out of its side and makes the total
  // malformed: { prompt 1000, toolUse -990 } was charged 10 input, quietly.
  const share = (key: string) => (isCount(count(key)) ? count(key) : 0)
  const sharesValid = ['toolUsePromptTokenCount', 'thoughtsTokenCount'].every((key) => isCount(count(key)))
  const input = prompt + share('toolUsePromptTokenCount')
  const output = candidates + share('thoughtsTokenCount')
  const total = !sharesValid ? Number.NaN : meta.totalTokenCount === undefined ? input + output : (meta.totalTokenCount as number)
  if (!total && !input && !output) return undefined
  return { input, output, total, cachedInput: count('cachedContentTokenCount'), reasoning: count('thoughtsTokenCount') }
}

function isCount(value: unknown): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0
}

/**
 * Whether a response (or a streamed chunk) carried output that `candidatesTokenCount` counts: a part
 * that is not a thought, be it text, a function call or code (an empty text, or a bare thought
 * signature, is none).
 */
export function carriesOutput(response: unknown): boolean {
  const candidates = (response as { candidates?: unknown } | undefined)?.candidates
  if (!Array.isArray(candidates)) return false
  return candidates.some((candidate) => {
    const parts = (candidate as { content?: { parts?: unknown } } | undefined)?.content?.parts
    return Array.isArray(parts) && parts.some(isOutputPart)
  })
}

function isOutputPart(part: unknown): boolean {
  if (!isObject(part) || part.thought === true) return false
  return typeof part.text === 'string' ? part.text !== '' : Object.keys(part).some((key) => key !== 'thoughtSignature')
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
