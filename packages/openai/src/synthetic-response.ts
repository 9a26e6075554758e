import type { EndpointKind } from './prompt.js'
import type { Json } from '@tokenquota/core/adapter'

const zeroChatUsage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 }
const zeroResponsesUsage = {
  input_tokens: 0,
  output_tokens: 0,
  total_tokens: 0,
  input_tokens_details: { cached_tokens: 0 },
  output_tokens_details: { reasoning_tokens: 0 },
}

function sse(events: ReadonlyArray<{ event?: string; data: unknown }>): string {
  return events.map(({ event, data }) => `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`).join('')
}

function chatCompletion(text: string, model: string, created: number): Json {
  return {
    id: `chatcmpl-tokenquota-${crypto.randomUUID()}`,
    object: 'chat.completion',
    created,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null, annotations: [] }, finish_reason: 'stop', logprobs: null }],
    usage: zeroChatUsage,
  }
}

function chatStream(completion: Json, includeUsage: boolean): string {
  const choice = (completion.choices as Json[])[0] ?? {}
  const message = (choice.message ?? {}) as Json
  const base = { id: completion.id, object: 'chat.completion.chunk', created: completion.created, model: completion.model }
  const chunks: unknown[] = [
    { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, finish_reason: null, logprobs: null }] },
    { ...base, choices: [{ index: 0, delta: { content: message.content ?? '' }, finish_reason: null, logprobs: null }] },
    { ...base, choices: [{ index: 0, delta: {}, finish_reason: choice.finish_reason ?? 'stop', logprobs: null }] },
  ]
  if (includeUsage) chunks.push({ ...base, choices: [], usage: completion.usage ?? zeroChatUsage })
  return sse([...chunks.map((data) => ({ data })), { data: '[DONE]' }])
}

function textCompletion(text: string, model: string, created: number): Json {
  return {
    id: `cmpl-tokenquota-${crypto.randomUUID()}`,
    object: 'text_completion',
    created,
    model,
    choices: [{ text, index: 0, finish_reason: 'stop', logprobs: null }],
    usage: zeroChatUsage,
  }
}

function responseObject(text: string, model: string, created: number, status: 'in_progress' | 'completed'): Json {
  const done = status === 'completed'
  return {
    id: `resp_tokenquota_${crypto.randomUUID().replaceAll('-', '')}`,
    object: 'response',
    created_at: created,
    status,
    model,
    output: done
      ? [
          {
            type: 'message',
            id: 'msg_tokenquota',
            status: 'completed',
            role: 'assistant',
            content: [{ type: 'output_text', text, annotations: [], logprobs: [] }],
          },
        ]
      : [],
    usage: done ? zeroResponsesUsage : null,
    error: null,
    incomplete_details: null,
    instructions: null,
    metadata: {},
    parallel_tool_calls: true,
    temperature: null,
    tool_choice: 'auto',
    tools: [],
    top_p: null,
  }
}

function responsesStream(text: string, model: string, created: number): string {
  const completed = responseObject(text, model, created, 'completed')
  const started = { ...responseObject(text, model, created, 'in_progress'), id: completed.id }
  const item = { type: 'message', id: 'msg_tokenquota', status: 'in_progress', role: 'assistant', content: [] }
  const part = { type: 'output_text', text: '', annotations: [], logprobs: [] }
  const at = { item_id: 'msg_tokenquota', output_index: 0, content_index: 0 }
  const events: Array<{ event: string; data: Json }> = [
    { event: 'response.created', data: { type: 'response.created', response: started } },
    { event: 'response.in_progress', data: { type: 'response.in_progress', response: started } },
    { event: 'response.output_item.added', data: { type: 'response.output_item.added', output_index: 0, item } },
    { event: 'response.content_part.added', data: { type: 'response.content_part.added', ...at, part } },
    { event: 'response.output_text.delta', data: { type: 'response.output_text.delta', ...at, delta: text, logprobs: [] } },
    { event: 'response.output_text.done', data: { type: 'response.output_text.done', ...at, text, logprobs: [] } },
    { event: 'response.content_part.done', data: { type: 'response.content_part.done', ...at, part: { ...part, text } } },
    { event: 'response.output_item.done', data: { type: 'response.output_item.done', output_index: 0, item: (completed.output as Json[])[0]! } },
    { event: 'response.completed', data: { type: 'response.completed', response: completed } },
  ]
  return sse(events.map((event, index) => ({ event: event.event, data: { ...event.data, sequence_number: index } })))
}

/**
 * A provider-shaped HTTP response carrying a fallback answer, so the SDK parses it as it would a
 * real one: a completion object, or an event stream when the call streams. A string becomes the
 * assistant's text; an object is sent as the (non-streamed) body, or for chat streams, as chunks.
 */
export function syntheticResponse(kind: EndpointKind, body: Json, answer: string | Json): Response {
  const model = typeof body.model === 'string' ? body.model : 'unknown'
  const created = Math.floor(Date.now() / 1000)
  const streaming = body.stream === true
  const headers = { 'x-tokenquota-fallback': 'response' }
  const includeUsage = (body.stream_options as Json | undefined)?.include_usage === true

  if (typeof answer !== 'string' && !(streaming && kind === 'chat')) {
    if (streaming) throw new TypeError(`A fallback object can only answer a streamed ${kind} call as text; return a string instead`)
    return Response.json(answer, { headers })
  }
  if (streaming) {
    const text =
      kind === 'chat'
        ? chatStream(typeof answer === 'string' ? chatCompletion(answer, model, created) : answer, includeUsage)
        : kind === 'responses'
          ? responsesStream(answer as string, model, created)
          : sse([{ data: { ...textCompletion(answer as string, model, created), object: 'text_completion', usage: null } }, { data: '[DONE]' }])
    return new Response(text, { headers: { ...headers, 'content-type': 'text/event-stream' } })
  }
  switch (kind) {
    case 'chat':
      return Response.json(chatCompletion(answer as string, model, created), { headers })
    case 'completions':
      return Response.json(textCompletion(answer as string, model, created), { headers })
    case 'responses':
      return Response.json(responseObject(answer as string, model, created, 'completed'), { headers })
    case 'embeddings':
      throw new TypeError('A text fallback cannot answer an embeddings call; return `{ response: <embeddings body> }` or a model')
  }
}
