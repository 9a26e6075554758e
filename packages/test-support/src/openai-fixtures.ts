// Response bodies in the shape api.openai.com returns them (recorded shapes, trimmed ids).

export interface TokenCounts {
  readonly prompt: number
  readonly completion: number
  readonly cached?: number
  readonly reasoning?: number
}

export function chatUsage({ prompt, completion, cached = 0, reasoning = 0 }: TokenCounts) {
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cached, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: reasoning, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  }
}

export function chatCompletion(
  options: { id?: string; model?: string; content?: string; usage?: TokenCounts | null; toolCall?: { name: string; arguments: string } } = {},
) {
  const {
    id = 'chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT',
    model = 'gpt-4o-2024-08-06',
    content = 'Hello! How can I assist you today?',
    usage = { prompt: 19, completion: 10 },
    toolCall,
  } = options
  return {
    id,
    object: 'chat.completion',
    created: 1741569952,
    model,
    choices: [
      {
        index: 0,
        message: toolCall
          ? {
              role: 'assistant',
              content: null,
              refusal: null,
              annotations: [],
              tool_calls: [{ id: 'call_d3RzZmxqa2Rm', type: 'function', function: toolCall }],
            }
          : { role: 'assistant', content, refusal: null, annotations: [] },
        logprobs: null,
        finish_reason: toolCall ? 'tool_calls' : 'stop',
      },
    ],
    ...(usage === null ? {} : { usage: chatUsage(usage) }),
    service_tier: 'default',
    system_fingerprint: 'fp_f9f4fb6dbf',
  }
}

/** The chunks of a streamed chat completion: role, one chunk per word, finish, and the usage chunk when asked. */
export function chatChunks(options: { model?: string; words?: readonly string[]; usage?: TokenCounts; includeUsage: boolean }) {
  const {
    model = 'gpt-4o-2024-08-06',
    words = ['Hello', '!', ' How', ' can', ' I', ' help', '?'],
    usage = { prompt: 19, completion: 7 },
    includeUsage,
  } = options
  const base = {
    id: 'chatcmpl-BWnh5mCHhREcoPc7ddlEfSkJNbCi9',
    object: 'chat.completion.chunk',
    created: 1747066595,
    model,
    service_tier: 'default',
    system_fingerprint: 'fp_f5bdcc3276',
  }
  const extra = includeUsage ? { usage: null } : {}
  return [
    { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }], ...extra },
    ...words.map((word) => ({ ...base, choices: [{ index: 0, delta: { content: word }, logprobs: null, finish_reason: null }], ...extra })),
    { ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }], ...extra },
    ...(includeUsage ? [{ ...base, choices: [], usage: chatUsage(usage) }] : []),
  ]
}

export function responsesUsage({ prompt, completion, cached = 0, reasoning = 0 }: TokenCounts) {
  return {
    input_tokens: prompt,
    input_tokens_details: { cached_tokens: cached },
    output_tokens: completion,
    output_tokens_details: { reasoning_tokens: reasoning },
    total_tokens: prompt + completion,
  }
}

export function responseObject(options: { model?: string; text?: string; usage?: TokenCounts; status?: 'completed' | 'in_progress' } = {}) {
  const {
    model = 'gpt-4.1-2025-04-14',
    text = 'In a quiet forest, a unicorn slept under the stars.',
    usage = { prompt: 36, completion: 87 },
    status = 'completed',
  } = options
  return {
    id: 'resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b',
    object: 'response',
    created_at: 1741476542,
    status,
    background: false,
    error: null,
    incomplete_details: null,
    instructions: null,
    max_output_tokens: null,
    model,
    output:
      status === 'completed'
        ? [
            {
              type: 'message',
              id: 'msg_67ccd2bf17f0819081ff3bb2cf6508e60bb6a6b452d3795b',
              status: 'completed',
              role: 'assistant',
              content: [{ type: 'output_text', text, annotations: [], logprobs: [] }],
            },
          ]
        : [],
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    store: true,
    temperature: 1.0,
    text: { format: { type: 'text' } },
    tool_choice: 'auto',
    tools: [],
    top_p: 1.0,
    truncation: 'disabled',
    usage: status === 'completed' ? responsesUsage(usage) : null,
    user: null,
    metadata: {},
  }
}

/** The named events of a streamed Responses API call, ending with `response.completed`. */
export function responseEvents(options: { words?: readonly string[]; usage?: TokenCounts; model?: string } = {}) {
  const { words = ['Hi', ' there', '!'], usage = { prompt: 36, completion: 3 }, model } = options
  const text = words.join('')
  const started = responseObject({ model, status: 'in_progress' })
  const completed = responseObject({ model, text, usage })
  const at = { item_id: 'msg_67ccd2bf17f0819081ff3bb2cf6508e60bb6a6b452d3795b', output_index: 0, content_index: 0 }
  const item = { type: 'message', id: at.item_id, status: 'in_progress', role: 'assistant', content: [] }
  const part = { type: 'output_text', text: '', annotations: [], logprobs: [] }
  const events: Array<{ event: string; data: Record<string, unknown> }> = [
    { event: 'response.created', data: { type: 'response.created', response: started } },
    { event: 'response.in_progress', data: { type: 'response.in_progress', response: started } },
    { event: 'response.output_item.added', data: { type: 'response.output_item.added', output_index: 0, item } },
    { event: 'response.content_part.added', data: { type: 'response.content_part.added', ...at, part } },
    ...words.map((delta) => ({ event: 'response.output_text.delta', data: { type: 'response.output_text.delta', ...at, delta, logprobs: [] } })),
    { event: 'response.output_text.done', data: { type: 'response.output_text.done', ...at, text, logprobs: [] } },
    { event: 'response.content_part.done', data: { type: 'response.content_part.done', ...at, part: { ...part, text } } },
    { event: 'response.output_item.done', data: { type: 'response.output_item.done', output_index: 0, item: completed.output[0] } },
    { event: 'response.completed', data: { type: 'response.completed', response: completed } },
  ]
  return events.map((event, index) => ({ event: event.event, data: { ...event.data, sequence_number: index } }))
}

export function embeddingsResponse(options: { inputs?: number; promptTokens?: number } = {}) {
  const { inputs = 1, promptTokens = 8 } = options
  return {
    object: 'list',
    data: Array.from({ length: inputs }, (_, index) => ({ object: 'embedding', index, embedding: [0.0023064255, -0.009327292, 0.015797347] })),
    model: 'text-embedding-3-small',
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  }
}

export function textCompletion(options: { usage?: TokenCounts } = {}) {
  const { usage = { prompt: 5, completion: 7 } } = options
  return {
    id: 'cmpl-uqkvlQyYK7bGYrRHQ0eXlWi7',
    object: 'text_completion',
    created: 1589478378,
    model: 'gpt-3.5-turbo-instruct',
    system_fingerprint: 'fp_44709d6fcb',
    choices: [{ text: '\n\nThis is indeed a test', index: 0, logprobs: null, finish_reason: 'length' }],
    usage: { prompt_tokens: usage.prompt, completion_tokens: usage.completion, total_tokens: usage.prompt + usage.completion },
  }
}

export function apiError(message: string, type = 'server_error') {
  return { error: { message, type, param: null, code: null } }
}
