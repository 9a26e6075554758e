import type { Usage } from '@tokenquota/core'
import type { Json } from '@tokenquota/core/adapter'

/** A cache share adds to the prompt only when it is a count: a negative one would lower the input that came beside it. */
function count(value: unknown): number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : 0
}

/**
 * Usage from Anthropic's `usage`. Its `input_tokens` leave out the prompt tokens read from or written
 * to the prompt cache (`cache_read_input_tokens`, `cache_creation_input_tokens`): all three are the
 * prompt, and the cache's shares are passed on to be weighted and priced at their own rates: the
 * one-hour writes (`cache_creation.ephemeral_1h_input_tokens`) at theirs, and the web searches
 * (`server_tool_use.web_search_requests`) per search. Thinking tokens are a part of `output_tokens`.
 */
export function usageOf(usage: unknown): Usage | undefined {
  if (typeof usage !== 'object' || usage === null) return undefined
  const value = usage as Json
  if (value.input_tokens === undefined && value.output_tokens === undefined) return undefined
  // A non-number passes through, for the engine to refuse as malformed (then an estimate is charged).
  const field = (key: string) => (value[key] === undefined || value[key] === null ? 0 : (value[key] as number))
  // The two counts every usage has: one missing or null (NaN in JSON) is malformed, never 0 — a
  // stream whose counts came as null was charged 1 token for a 1,000-token prompt.
  const required = (key: string) => (value[key] === undefined || value[key] === null ? Number.NaN : (value[key] as number))
  const cachedInput = field('cache_read_input_tokens')
  const cacheWrite = field('cache_creation_input_tokens')
  const input = typeof value.input_tokens === 'number' ? value.input_tokens + count(cachedInput) + count(cacheWrite) : required('input_tokens')
  const cacheWrite1h = (value.cache_creation as Json | null | undefined)?.ephemeral_1h_input_tokens
  const webSearches = (value.server_tool_use as Json | null | undefined)?.web_search_requests
  return {
    input,
    output: required('output_tokens'),
    cachedInput,
    cacheWrite,
    ...(typeof cacheWrite1h === 'number' && cacheWrite1h > 0 && { cacheWrite1h }),
    ...(typeof webSearches === 'number' && webSearches > 0 && { webSearches }),
  }
}

/**
 * The stream's usage so far: `message_start`'s, with the fields a later `message_delta` repeats replaced
 * (its counts are cumulative). The output count is `message_delta`'s alone: `message_start`'s is a
 * placeholder (1), so a final count that is null or missing stays malformed.
 */
export function mergeUsage(start: Json | undefined, delta: unknown): Json | undefined {
  if (typeof delta !== 'object' || delta === null) return start
  const fields = Object.fromEntries(Object.entries(delta).filter(([, value]) => value !== null && value !== undefined))
  return { ...start, output_tokens: undefined, ...fields }
}

/** The text of a message's content blocks (for estimating output when usage is missing). */
export function textOfContent(content: unknown): string {
  if (!Array.isArray(content)) return ''
  let text = ''
  for (const block of content as Json[]) {
    if (typeof block?.text === 'string') text += block.text
    else if (typeof block?.thinking === 'string') text += block.thinking
    else if (block?.type === 'tool_use' || block?.type === 'server_tool_use') text += JSON.stringify(block.input ?? {})
  }
  return text
}

/**
 * The answer as its reader sees it: the text blocks, never thinking; `undefined` when it calls a
 * tool (a step of an agent, not a reply).
 */
export function answerOfContent(content: unknown): string | undefined {
  if (!Array.isArray(content)) return undefined
  let text = ''
  for (const block of content as Json[]) {
    if (block?.type === 'text' && typeof block.text === 'string') text += block.text
    else if (block?.type !== 'thinking' && block?.type !== 'redacted_thinking') return undefined
  }
  return text
}

/** The visible text a streamed `content_block_delta` adds (`text_delta` only), `undefined` for tool input. */
export function answerOfDelta(event: Json): string | undefined {
  const delta = event.delta as Json | undefined
  if (delta?.type === 'input_json_delta') return undefined
  return delta?.type === 'text_delta' && typeof delta.text === 'string' ? delta.text : ''
}

/** The text a streamed `content_block_delta` adds: text, thinking, or tool input JSON. */
export function textOfDelta(event: Json): string {
  const delta = event.delta as Json | undefined
  if (delta === undefined) return ''
  if (typeof delta.text === 'string') return delta.text
  if (typeof delta.thinking === 'string') return delta.thinking
  if (typeof delta.partial_json === 'string') return delta.partial_json
  return ''
}
