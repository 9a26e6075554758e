// The request side of the OpenAI endpoints: which endpoint a call is, what it sends as its prompt,
// and how many output tokens it may generate.
import { isObject, type Json, noFraming, openAIFraming, positiveInteger, type Prompt, type PromptFraming, type PromptMessage } from '@tokenquota/core/adapter'

/** The OpenAI endpoints that consume tokens. */
export type EndpointKind = 'chat' | 'responses' | 'embeddings' | 'completions'

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
