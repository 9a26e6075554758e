// The response side of the OpenAI endpoints: usage, generated text and the visible answer, from a
// complete response or from streamed events.
import type { Usage } from '@tokenquota/core'
import { isObject, type Json } from '@tokenquota/core/adapter'
import type { EndpointKind } from './prompt.js'

function count(value: unknown): number | undefined {
  return value === undefined || value === null ? undefined : (value as number)
}

/**
 * A count every usage has (the prompt's, the output's): missing or null is malformed (NaN), never 0 —
 * `{ prompt_tokens: 1000 }` after a streamed answer charged no output.
 */
function required(value: unknown): number {
  return value === undefined || value === null ? Number.NaN : (value as number)
}

/**
 * The provider's usage in the engine's shape, or `undefined` when the body has none. Values are
 * passed through as they came; the engine rejects malformed ones. A usage without its prompt or
 * output count (`prompt_tokens`/`completion_tokens`, the Responses API's `input_tokens`/`output_tokens`)
 * is malformed: the estimate of the prompt and of the output received is charged instead, never
 * less than the counts that came, and a `UsageMissing` warning says so.
 */
export function usageOf(kind: EndpointKind, body: unknown): Usage | undefined {
  if (!isObject(body)) return undefined
  const raw = kind === 'responses' && isObject(body.response) ? body.response.usage : body.usage
  if (!isObject(raw)) return undefined
  if (kind === 'responses') {
    const inputDetails = isObject(raw.input_tokens_details) ? raw.input_tokens_details : {}
    const outputDetails = isObject(raw.output_tokens_details) ? raw.output_tokens_details : {}
    return {
      input: required(raw.input_tokens),
      output: required(raw.output_tokens),
      total: count(raw.total_tokens),
      cachedInput: count(inputDetails.cached_tokens),
      reasoning: count(outputDetails.reasoning_tokens),
    }
  }
  const promptDetails = isObject(raw.prompt_tokens_details) ? raw.prompt_tokens_details : {}
  const completionDetails = isObject(raw.completion_tokens_details) ? raw.completion_tokens_details : {}
  return {
    input: required(raw.prompt_tokens),
    output: kind === 'embeddings' ? 0 : required(raw.completion_tokens),
    total: count(raw.total_tokens),
    cachedInput: count(promptDetails.cached_tokens),
    reasoning: count(completionDetails.reasoning_tokens),
  }
}

/** Generated text in a complete (non-streamed) response, for estimating usage the provider left out. */
export function outputTextOf(kind: EndpointKind, body: unknown): string {
  if (!isObject(body)) return ''
  switch (kind) {
    case 'chat':
      return (Array.isArray(body.choices) ? body.choices : [])
        .map((choice) =>
          isObject(choice) && isObject(choice.message)
            ? `${choice.message.content ?? ''}${choice.message.tool_calls ? JSON.stringify(choice.message.tool_calls) : ''}`
            : '',
        )
        .join('')
    case 'completions':
      return (Array.isArray(body.choices) ? body.choices : [])
        .map((choice) => (isObject(choice) && typeof choice.text === 'string' ? choice.text : ''))
        .join('')
    case 'responses':
      return Array.isArray(body.output) ? JSON.stringify(body.output) : ''
    case 'embeddings':
      return ''
  }
}

/**
 * The visible answer of a complete response (or of a Responses API event's `response`), as its
 * reader sees it: one choice's text, the Responses API's output text, never reasoning or tool
 * calls. `undefined` when it is not one text answer (several choices, tool calls, embeddings).
 */
export function answerTextOf(kind: EndpointKind, body: unknown): string | undefined {
  if (!isObject(body)) return undefined
  if (kind === 'responses') return responsesAnswerOf(isObject(body.response) ? body.response : body)
  const choices = Array.isArray(body.choices) ? body.choices : []
  const [choice] = choices
  if (choices.length !== 1 || !isObject(choice)) return undefined
  if (kind === 'completions') return typeof choice.text === 'string' ? choice.text : undefined
  if (kind !== 'chat' || !isObject(choice.message) || choice.message.tool_calls || choice.message.function_call) return undefined
  return typeof choice.message.content === 'string' ? choice.message.content : undefined
}

function responsesAnswerOf(response: Json): string | undefined {
  if (!Array.isArray(response.output)) return undefined
  let text = ''
  for (const item of response.output) {
    if (!isObject(item) || item.type === 'reasoning') continue
    if (item.type !== 'message' || !Array.isArray(item.content)) return undefined
    for (const part of item.content) if (isObject(part) && part.type === 'output_text' && typeof part.text === 'string') text += part.text
  }
  return text
}

/**
 * The visible text one streamed chat or completions chunk adds to the answer; `undefined` when the
 * answer is not one text (a second choice, a tool call).
 */
export function streamedAnswerOf(event: Json | undefined): string | undefined {
  let text = ''
  for (const choice of Array.isArray(event?.choices) ? event.choices : []) {
    if (!isObject(choice)) continue
    if (choice.index !== undefined && choice.index !== 0) return undefined
    if (typeof choice.text === 'string') text += choice.text
    const delta = isObject(choice.delta) ? choice.delta : {}
    if (delta.tool_calls || delta.function_call) return undefined
    if (typeof delta.content === 'string') text += delta.content
  }
  return text
}

/** Generated text carried by one streamed event (a chat chunk, a completions chunk, a responses delta). */
export function streamedTextOf(kind: EndpointKind, event: Json): string {
  if (kind === 'responses') {
    return typeof event.type === 'string' && event.type.endsWith('.delta') && typeof event.delta === 'string' ? event.delta : ''
  }
  let text = ''
  for (const choice of Array.isArray(event.choices) ? event.choices : []) {
    if (!isObject(choice)) continue
    if (typeof choice.text === 'string') text += choice.text
    const delta = choice.delta
    if (!isObject(delta)) continue
    if (typeof delta.content === 'string') text += delta.content
    if (typeof delta.refusal === 'string') text += delta.refusal
    if (Array.isArray(delta.tool_calls)) {
      for (const call of delta.tool_calls) {
        if (isObject(call) && isObject(call.function)) text += `${call.function.name ?? ''}${call.function.arguments ?? ''}`
      }
    }
  }
  return text
}

/**
 * Whether a streamed chat or completions chunk carries usage that a later chunk replaces: beside an
 * answer still streaming (a choice without `finish_reason`), or counting nothing — a server that
 * counts as it streams (vLLM's `continuous_usage_stats`) or sends zeros on every chunk.
 */
export function isRunningUsage(kind: EndpointKind, event: Json): boolean {
  if (kind === 'responses' || !isObject(event.usage)) return false
  const { prompt_tokens, completion_tokens, total_tokens } = event.usage
  if (!prompt_tokens && !completion_tokens && !total_tokens) return true
  const choices = Array.isArray(event.choices) ? event.choices : []
  return choices.some((choice) => isObject(choice) && (choice.finish_reason === null || choice.finish_reason === undefined))
}

/** Whether a streamed event is the one that carries the final usage. */
export function isUsageEvent(kind: EndpointKind, event: Json): boolean {
  if (kind === 'responses') return ['response.completed', 'response.incomplete', 'response.failed'].includes(event.type as string)
  return isObject(event.usage)
}
