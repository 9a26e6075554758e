import type { Usage } from '@tokenquota/core'
import { noFraming, openAIFraming, type Prompt, type PromptFraming, type PromptMessage } from '@tokenquota/core/adapter'

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

/**
 * Prompt tokens an image costs on OpenAI, at most. Sizes are rarely known before sending, so
 * `high` and `auto` take the largest an image can cost (eight 512 px tiles after OpenAI's
 * scaling); the mini and nano models count images many times over.
 */
export function imageTokens(detail: unknown, model: string): number {
  const low = detail === 'low'
  if (/^gpt-4o-mini/.test(model)) return low ? 2833 : 2833 + 5667 * 8
  // Patch-based models: at most 1,536 patches of 32 px, times the model's multiplier.
  if (/^gpt-(4\.1|5)-nano/.test(model)) return Math.ceil(1536 * 2.46)
  if (/^gpt-(4\.1|5)-mini/.test(model)) return Math.ceil(1536 * 1.62)
  if (/^o4-mini/.test(model)) return Math.ceil(1536 * 1.72)
  return low ? 85 : 85 + 170 * 8
}

function messageOf(role: unknown, name: unknown, content: unknown, model: string, extra: readonly string[] = []): PromptMessage {
  const texts: string[] = [...extra]
  let fixedTokens = 0
  if (typeof content === 'string') texts.push(content)
  else if (Array.isArray(content)) {
    for (const part of content) {
      if (typeof part === 'string') texts.push(part)
      else if (!isObject(part)) continue
      else if (typeof part.text === 'string') texts.push(part.text)
      else if (part.type === 'image_url' || part.type === 'input_image') {
        const detail = isObject(part.image_url) ? part.image_url.detail : part.detail
        fixedTokens += imageTokens(detail, model)
      } else texts.push(JSON.stringify(part))
    }
  } else if (content !== undefined && content !== null) texts.push(JSON.stringify(content))
  return { role: typeof role === 'string' ? role : undefined, name: typeof name === 'string' ? name : undefined, texts, fixedTokens }
}

function toolsOf(tools: unknown): string[] | undefined {
  return Array.isArray(tools) ? tools.map((tool) => JSON.stringify(tool)) : tools === undefined ? undefined : [JSON.stringify(tools)]
}

/**
 * What a request body sends as its prompt, per endpoint, in the shape `estimatePrompt` frames.
 * Unknown shapes fall back to the whole body, never to zero.
 */
export function promptOf(kind: EndpointKind, body: Json): Prompt {
  const model = typeof body.model === 'string' ? body.model : ''
  const messages: PromptMessage[] = []
  const texts: string[] = []
  let tools: string[] | undefined
  let fixedTokens = 0
  switch (kind) {
    case 'chat':
      for (const message of Array.isArray(body.messages) ? body.messages : []) {
        if (!isObject(message)) continue
        const extra = [message.tool_calls, message.function_call, message.audio]
          .filter((value) => value !== undefined && value !== null)
          .map((value) => JSON.stringify(value))
        messages.push(messageOf(message.role, message.name, message.content, model, extra))
      }
      tools = toolsOf(body.tools ?? body.functions)
      for (const field of ['response_format', 'tool_choice', 'prediction']) if (body[field] !== undefined) texts.push(JSON.stringify(body[field]))
      break
    case 'responses':
      if (typeof body.instructions === 'string') texts.push(body.instructions)
      if (typeof body.input === 'string') messages.push({ role: 'user', texts: [body.input] })
      else if (Array.isArray(body.input)) {
        for (const item of body.input) {
          if (!isObject(item)) continue
          if ('content' in item) messages.push(messageOf(item.role, undefined, item.content, model))
          else messages.push({ texts: [JSON.stringify(item)] })
        }
      }
      tools = toolsOf(body.tools)
      for (const field of ['text', 'tool_choice']) if (body[field] !== undefined) texts.push(JSON.stringify(body[field]))
      break
    case 'embeddings':
    case 'completions': {
      const input = kind === 'embeddings' ? body.input : body.prompt
      const inputs = Array.isArray(input) && !input.every((item) => typeof item === 'number') ? input : [input]
      for (const item of inputs) {
        if (typeof item === 'string') texts.push(item)
        // Pre-tokenized input: one token per number.
        else if (Array.isArray(item)) fixedTokens += item.length
      }
      break
    }
  }
  if (messages.length === 0 && texts.length === 0 && fixedTokens === 0) texts.push(JSON.stringify(body))
  return { messages, texts, tools, fixedTokens }
}

/** How each endpoint frames its prompt: chat formats per message, plain inputs not at all. */
export function framingOf(kind: EndpointKind): PromptFraming {
  return kind === 'chat' || kind === 'responses' ? openAIFraming : noFraming
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

/** Whether a streamed event is the one that carries the final usage. */
export function isUsageEvent(kind: EndpointKind, event: Json): boolean {
  if (kind === 'responses') return ['response.completed', 'response.incomplete', 'response.failed'].includes(event.type as string)
  return isObject(event.usage)
}
