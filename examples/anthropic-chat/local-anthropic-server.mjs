// A small Anthropic-compatible endpoint for examples: POST /v1/messages, plain and streamed, with
// usage as Anthropic reports it. A system prompt marked `cache_control` is "written" to the cache
// on its first use and "read" from it afterwards, so the cache's counts show up as they would.
import { createServer } from 'node:http'

const answers = ['Claude answers from the local endpoint.', 'Cached prompts are charged at their own rate.', 'Streams are charged from message_delta.']
const countTokens = (text) => Math.ceil(text.length / 3.5)
const textOf = (content) => (typeof content === 'string' ? content : JSON.stringify(content ?? ''))

function usageFor(body, cache, outputTokens) {
  const system = Array.isArray(body.system) ? body.system : body.system ? [{ type: 'text', text: body.system }] : []
  const cached = system.filter((block) => block.cache_control).reduce((sum, block) => sum + countTokens(block.text), 0)
  const key = JSON.stringify(system)
  const written = cached > 0 && !cache.has(key) ? cached : 0
  if (cached > 0) cache.add(key)
  const plain =
    (body.messages ?? []).reduce((sum, message) => sum + 4 + countTokens(textOf(message.content)), 0) +
    (system.length ? countTokens(textOf(system)) - cached : 0)
  return { input_tokens: plain, cache_creation_input_tokens: written, cache_read_input_tokens: cached - written, output_tokens: outputTokens }
}

/** Starts the endpoint on a free port. Resolves with its base URL (for `baseURL` / `ANTHROPIC_BASE_URL`) and a `close()`. */
export async function startLocalAnthropic() {
  const cache = new Set()
  const server = createServer(async (request, response) => {
    let raw = ''
    for await (const chunk of request) raw += chunk
    if (request.method !== 'POST' || !request.url?.startsWith('/v1/messages')) {
      response
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: 'No route' } }))
      return
    }
    const body = JSON.parse(raw)
    const words = answers[Math.floor(Math.random() * answers.length)].split(/(?= )/).slice(0, Math.max(1, body.max_tokens))
    const usage = usageFor(body, cache, words.length)
    const message = {
      id: `msg_local${Date.now().toString(36)}`,
      type: 'message',
      role: 'assistant',
      model: body.model,
      stop_reason: 'end_turn',
      stop_sequence: null,
    }
    if (!body.stream) {
      response
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ ...message, content: [{ type: 'text', text: words.join('') }], usage }))
      return
    }
    const send = (type, data) => response.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`)
    response.writeHead(200, { 'content-type': 'text/event-stream' })
    send('message_start', { message: { ...message, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } } })
    send('content_block_start', { index: 0, content_block: { type: 'text', text: '' } })
    for (const word of words) send('content_block_delta', { index: 0, delta: { type: 'text_delta', text: word } })
    send('content_block_stop', { index: 0 })
    send('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: usage.output_tokens } })
    send('message_stop', {})
    response.end()
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { baseURL: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((resolve) => server.close(resolve)) }
}
