// Anthropic Messages API bodies and event streams, in the shape api.anthropic.com returns them.

export const anthropicBaseURL = 'http://api.anthropic.test'

/** A call's counts as Anthropic reports them: `input` leaves out the cache's reads and writes. */
export interface AnthropicCounts {
  readonly input: number
  readonly output: number
  /** Every prompt token written to the cache, for five minutes or an hour. */
  readonly cacheWrite?: number
  /** The part of `cacheWrite` written for one hour. */
  readonly cacheWrite1h?: number
  readonly cacheRead?: number
  /** Server-side web searches (`server_tool_use.web_search_requests`). */
  readonly webSearches?: number
}

export function anthropicUsage({ input, output, cacheWrite = 0, cacheWrite1h = 0, cacheRead = 0, webSearches }: AnthropicCounts) {
  return {
    input_tokens: input,
    cache_creation_input_tokens: cacheWrite,
    cache_read_input_tokens: cacheRead,
    cache_creation: { ephemeral_5m_input_tokens: cacheWrite - cacheWrite1h, ephemeral_1h_input_tokens: cacheWrite1h },
    output_tokens: output,
    ...(webSearches !== undefined && { server_tool_use: { web_search_requests: webSearches } }),
    service_tier: 'standard',
  }
}

type Block = Record<string, unknown>

export function anthropicMessage(
  options: {
    text?: string
    input?: number
    output?: number
    cacheWrite?: number
    cacheWrite1h?: number
    cacheRead?: number
    webSearches?: number
    model?: string
    content?: Block[]
    usage?: null
  } = {},
) {
  const {
    text = 'Hello! How can I help you today?',
    input = 12,
    output = 9,
    cacheWrite,
    cacheWrite1h,
    cacheRead,
    webSearches,
    model = 'claude-sonnet-4-6',
  } = options
  const content = options.content ?? [{ type: 'text', text }]
  return {
    id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: content.some((block) => block.type === 'tool_use') ? 'tool_use' : 'end_turn',
    stop_sequence: null,
    ...(options.usage === null ? {} : { usage: anthropicUsage({ input, output, cacheWrite, cacheWrite1h, cacheRead, webSearches }) }),
  }
}

/** A tool call block, as the assistant sends it. */
export function anthropicToolUse(name: string, input: Record<string, unknown>, id = 'toolu_01A09q90qw90lq917835lq9') {
  return { type: 'tool_use', id, name, input }
}

/**
 * The events of a streamed answer, recorded from the API: `message_start` with the prompt's usage
 * (and a first output count), `ping`, an optional thinking block, the text in deltas, then
 * `message_delta` with the cumulative usage and `message_stop`. Send with `{ done: false }`.
 * `finalUsage`: what `message_delta` reports — `output` (its output count, as the API long did),
 * `full` (every count, as it does with server tools), or `none`.
 */
export function anthropicStreamEvents(
  options: { words?: readonly string[]; thinking?: readonly string[]; usage?: AnthropicCounts; model?: string; finalUsage?: 'output' | 'full' | 'none' } = {},
) {
  const {
    words = ['Hello', '! How', ' can I', ' help?'],
    thinking = [],
    usage = { input: 25, output: 15 },
    model = 'claude-sonnet-4-6',
    finalUsage = 'output',
  } = options
  const start = anthropicUsage({ ...usage, output: 1 })
  const message = { id: 'msg_014p7gG3wDgGV9EUtLvnow3U', type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null }
  const event = (type: string, data: Record<string, unknown>) => ({ event: type, data: { type, ...data } })
  const blocks: ReturnType<typeof event>[] = []
  let index = 0
  if (thinking.length > 0) {
    blocks.push(event('content_block_start', { index, content_block: { type: 'thinking', thinking: '', signature: '' } }))
    for (const piece of thinking) blocks.push(event('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: piece } }))
    blocks.push(event('content_block_delta', { index, delta: { type: 'signature_delta', signature: 'EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds' } }))
    blocks.push(event('content_block_stop', { index }))
    index += 1
  }
  blocks.push(event('content_block_start', { index, content_block: { type: 'text', text: '' } }))
  for (const word of words) blocks.push(event('content_block_delta', { index, delta: { type: 'text_delta', text: word } }))
  blocks.push(event('content_block_stop', { index }))
  const delta = { stop_reason: 'end_turn', stop_sequence: null }
  return [
    event('message_start', { message: { ...message, usage: start } }),
    event('ping', {}),
    ...blocks,
    finalUsage === 'none'
      ? event('message_delta', { delta })
      : event('message_delta', { delta, usage: finalUsage === 'full' ? anthropicUsage(usage) : { output_tokens: usage.output } }),
    event('message_stop', {}),
  ]
}
