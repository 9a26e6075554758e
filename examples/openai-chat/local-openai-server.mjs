// A small OpenAI-compatible endpoint for examples and demos: /v1/chat/completions, plain and
// streamed, answering with realistic usage (prompt counted like a tokenizer would, roughly). When
// the request offers tools and the user spoke last, it calls the first tool (string arguments
// filled with "Paris"); after a tool result, it answers with that result.
import { createServer } from 'node:http'

const answers = [
  'Token quotas keep one user from spending everyone else’s budget.',
  'A reservation holds the estimate until the real usage arrives.',
  'Streams are charged from their final usage chunk.',
  'When the big model is refused, a cheaper one can answer.',
]

function countTokens(text) {
  return Math.ceil(text.length / 4)
}

function promptTokens(messages) {
  return messages.reduce(
    (sum, message) => sum + 4 + countTokens(typeof message.content === 'string' ? message.content : JSON.stringify(message.content ?? '')),
    0,
  )
}

function toolCallFor(body) {
  const last = body.messages?.at(-1)
  if (!body.tools?.length || last?.role !== 'user') return undefined
  const fn = body.tools[0].function
  const args = Object.fromEntries(
    Object.entries(fn.parameters?.properties ?? {})
      .filter(([, schema]) => schema.type === 'string')
      .map(([name]) => [name, 'Paris']),
  )
  return { id: `call_${Date.now().toString(36)}`, type: 'function', function: { name: fn.name, arguments: JSON.stringify(args) } }
}

/**
 * The answer to a question is chosen by the question (a string hash), not at random, so a demo run
 * and its test see the same usage every time.
 */
function answerFor(messages) {
  let hash = 0
  for (const character of JSON.stringify(messages)) hash = (hash * 31 + character.charCodeAt(0)) >>> 0
  return answers[hash % answers.length]
}

function reply(_request, body) {
  const last = body.messages?.at(-1)
  const text =
    last?.role === 'tool'
      ? `According to the tool: ${typeof last.content === 'string' ? last.content : JSON.stringify(last.content)}.`
      : answerFor(body.messages ?? [])
  const words = text.split(/(?= )/)
  const cap = body.max_completion_tokens ?? body.max_tokens ?? Infinity
  const kept = words.slice(0, Math.max(1, Math.min(words.length, cap)))
  const usage = {
    prompt_tokens: promptTokens(body.messages ?? []),
    completion_tokens: kept.length,
    total_tokens: 0,
    prompt_tokens_details: { cached_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0 },
  }
  usage.total_tokens = usage.prompt_tokens + usage.completion_tokens
  return { words: kept, usage, model: body.model ?? 'gpt-4o-mini', id: `chatcmpl-local${Date.now().toString(36)}`, created: Math.floor(Date.now() / 1000) }
}

/** Starts the endpoint on a free port. Resolves with its `/v1` base URL and a `close()`. */
export async function startLocalOpenAI() {
  const server = createServer(async (request, response) => {
    let raw = ''
    for await (const chunk of request) raw += chunk
    if (request.method !== 'POST' || !request.url?.endsWith('/chat/completions')) {
      response
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { message: `No route ${request.method} ${request.url}`, type: 'invalid_request_error' } }))
      return
    }
    const body = JSON.parse(raw)
    const { words, usage, model, id, created } = reply(request, body)
    const toolCall = toolCallFor(body)
    if (toolCall && !body.stream) {
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end(
        JSON.stringify({
          id,
          object: 'chat.completion',
          created,
          model,
          choices: [
            { index: 0, message: { role: 'assistant', content: null, refusal: null, tool_calls: [toolCall] }, finish_reason: 'tool_calls', logprobs: null },
          ],
          usage: { ...usage, completion_tokens: 12, total_tokens: usage.prompt_tokens + 12 },
        }),
      )
      return
    }
    if (!body.stream) {
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end(
        JSON.stringify({
          id,
          object: 'chat.completion',
          created,
          model,
          choices: [{ index: 0, message: { role: 'assistant', content: words.join(''), refusal: null }, finish_reason: 'stop', logprobs: null }],
          usage,
        }),
      )
      return
    }
    response.writeHead(200, { 'content-type': 'text/event-stream' })
    const chunk = (choices, extra = {}) => `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices, ...extra })}\n\n`
    response.write(chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]))
    for (const word of words) response.write(chunk([{ index: 0, delta: { content: word }, finish_reason: null }]))
    response.write(chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]))
    if (body.stream_options?.include_usage) response.write(chunk([], { usage }))
    response.end('data: [DONE]\n\n')
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  return { baseURL: `http://127.0.0.1:${port}/v1`, close: () => new Promise((resolve) => server.close(resolve)) }
}
