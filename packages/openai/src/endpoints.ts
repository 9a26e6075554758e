import type { Usage } from '@tokenquota/core'

/** The OpenAI endpoints that consume tokens. */
export type EndpointKind = 'chat' | 'responses' | 'embeddings' | 'completions'

type Json = Record<string, unknown>

/** Which metered endpoint a request path is, if any. Matches the path's end, so Azure deployment paths work too. */
export function endpointOf(method: string | undefined, path: string | undefined): EndpointKind | undefined {
  if (method?.toLowerCase() !== 'post' || typeof path !== 'string') return undefined
  const clean = path.split('?')[0]!.replace(/\/+$/, '')
  if (/(^|\/)chat\/completions$/.test(clean)) return 'chat'
  if (/(^|\/)responses$/.test(clean)) return 'responses'
  if (/(^|\/)embeddings$/.test(clean)) return 'embeddings'
  if (/(^|\/)completions$/.test(clean)) return 'completions'
  return undefined
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function positiveInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined
}

/** Tokens an image input is reserved for: OpenAI's high-detail cost of a 512 px tile grid, generously. */
const imageTokens = 1105
/** Per-message framing tokens in chat formats (role, separators). */
const messageOverhead = 4

/** The parts of a request body that become prompt tokens: texts to estimate, plus fixed costs. */
export interface PromptParts {
  readonly texts: string[]
  readonly fixed: number
}

function collectContent(content: unknown, parts: PromptParts & { fixed: number }): void {
  if (typeof content === 'string') {
    parts.texts.push(content)
    return
  }
  if (!Array.isArray(content)) return
  for (const part of content) {
    if (typeof part === 'string') parts.texts.push(part)
    else if (isObject(part)) {
      if (typeof part.text === 'string') parts.texts.push(part.text)
      else if (part.type === 'image_url' || part.type === 'input_image') parts.fixed += imageTokens
      else if (part.type === 'input_audio' || part.type === 'file' || part.type === 'input_file') parts.texts.push(JSON.stringify(part))
    }
  }
}

/** Prompt texts of a request body, per endpoint. Unknown shapes fall back to the whole body, never to zero. */
export function promptParts(kind: EndpointKind, body: Json): PromptParts {
  const parts = { texts: [] as string[], fixed: 0 }
  switch (kind) {
    case 'chat': {
      const messages = Array.isArray(body.messages) ? body.messages : []
      for (const message of messages) {
        if (!isObject(message)) continue
        parts.fixed += messageOverhead
        collectContent(message.content, parts)
        if (typeof message.name === 'string') parts.texts.push(message.name)
        if (Array.isArray(message.tool_calls)) parts.texts.push(JSON.stringify(message.tool_calls))
      }
      if (body.tools !== undefined) parts.texts.push(JSON.stringify(body.tools))
      if (body.response_format !== undefined) parts.texts.push(JSON.stringify(body.response_format))
      break
    }
    case 'responses': {
      if (typeof body.instructions === 'string') parts.texts.push(body.instructions)
      if (typeof body.input === 'string') parts.texts.push(body.input)
      else if (Array.isArray(body.input)) {
        for (const item of body.input) {
          if (!isObject(item)) continue
          parts.fixed += messageOverhead
          if ('content' in item) collectContent(item.content, parts)
          else parts.texts.push(JSON.stringify(item))
        }
      }
      if (body.tools !== undefined) parts.texts.push(JSON.stringify(body.tools))
      if (body.text !== undefined) parts.texts.push(JSON.stringify(body.text))
      break
    }
    case 'embeddings':
    case 'completions': {
      const input = kind === 'embeddings' ? body.input : body.prompt
      const inputs = Array.isArray(input) && !input.every((item) => typeof item === 'number') ? input : [input]
      for (const item of inputs) {
        if (typeof item === 'string') parts.texts.push(item)
        // Pre-tokenized input: one token per number.
        else if (Array.isArray(item)) parts.fixed += item.length
      }
      break
    }
  }
  if (parts.texts.length === 0 && parts.fixed === 0) parts.texts.push(JSON.stringify(body))
  return parts
}

/** The field that caps a request's output tokens on each endpoint (chat prefers the newer one). */
export function maxOutputField(kind: EndpointKind, body: Json): string | undefined {
  switch (kind) {
    case 'chat':
      return body.max_completion_tokens !== undefined || body.max_tokens === undefined ? 'max_completion_tokens' : 'max_tokens'
    case 'responses':
      return 'max_output_tokens'
    case 'completions':
      return 'max_tokens'
    case 'embeddings':
      return undefined
  }
}

/**
 * The most output tokens a request may produce: its cap (or `defaultMaxOutputTokens`), times the
 * number of choices it asks for.
 */
export function maxOutputTokens(kind: EndpointKind, body: Json, defaultMaxOutputTokens: number): number {
  if (kind === 'embeddings') return 0
  const field = maxOutputField(kind, body)!
  const cap = positiveInteger(body[field]) ?? positiveInteger(body.max_tokens) ?? (kind === 'completions' ? 16 : defaultMaxOutputTokens)
  return cap * outputChoices(kind, body)
}

/** How many outputs the request generates, each up to the per-choice cap (`n`, and `best_of` for completions). */
export function outputChoices(kind: EndpointKind, body: Json): number {
  if (kind === 'responses' || kind === 'embeddings') return 1
  return (positiveInteger(body.n) ?? 1) * (kind === 'completions' ? (positiveInteger(body.best_of) ?? 1) : 1)
}

function count(value: unknown): number | undefined {
  return value === undefined || value === null ? undefined : (value as number)
}

/**
 * The provider's usage in the engine's shape, or `undefined` when the body has none. Values are
 * passed through as they came; the engine rejects malformed ones.
 */
export function usageOf(kind: EndpointKind, body: unknown): Usage | undefined {
  if (!isObject(body)) return undefined
  const raw = kind === 'responses' && isObject(body.response) ? body.response.usage : body.usage
  if (!isObject(raw)) return undefined
  if (kind === 'responses') {
    const inputDetails = isObject(raw.input_tokens_details) ? raw.input_tokens_details : {}
    const outputDetails = isObject(raw.output_tokens_details) ? raw.output_tokens_details : {}
    return {
      input: count(raw.input_tokens),
      output: count(raw.output_tokens),
      total: count(raw.total_tokens),
      cachedInput: count(inputDetails.cached_tokens),
      reasoning: count(outputDetails.reasoning_tokens),
    }
  }
  const promptDetails = isObject(raw.prompt_tokens_details) ? raw.prompt_tokens_details : {}
  const completionDetails = isObject(raw.completion_tokens_details) ? raw.completion_tokens_details : {}
  return {
    input: count(raw.prompt_tokens),
    output: kind === 'embeddings' ? 0 : count(raw.completion_tokens),
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
        .map((choice) => (isObject(choice) && isObject(choice.message) ? `${choice.message.content ?? ''}${choice.message.tool_calls ? JSON.stringify(choice.message.tool_calls) : ''}` : ''))
        .join('')
    case 'completions':
      return (Array.isArray(body.choices) ? body.choices : []).map((choice) => (isObject(choice) && typeof choice.text === 'string' ? choice.text : '')).join('')
    case 'responses':
      return Array.isArray(body.output) ? JSON.stringify(body.output) : ''
    case 'embeddings':
      return ''
  }
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

/** Whether a streamed event is the one that carries the final usage. */
export function isUsageEvent(kind: EndpointKind, event: Json): boolean {
  if (kind === 'responses') return ['response.completed', 'response.incomplete', 'response.failed'].includes(event.type as string)
  return isObject(event.usage)
}
