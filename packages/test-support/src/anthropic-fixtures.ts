// Anthropic Messages API bodies, in the shape api.anthropic.com returns them.

export const anthropicBaseURL = 'https://api.anthropic.test'

export function anthropicMessage(options: { text?: string; input?: number; output?: number; model?: string } = {}) {
  const { text = 'Hello! How can I help you today?', input = 12, output = 9, model = 'claude-sonnet-4-5-20250929' } = options
  return {
    id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
    type: 'message',
    role: 'assistant',
    model,
    content: [{ type: 'text', text }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: input, output_tokens: output, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
  }
}
