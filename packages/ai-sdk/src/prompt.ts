import type { Prompt, PromptMessage } from '@tokenquota/core/adapter'
import type { Json } from '@tokenquota/core/adapter'

/** An image's prompt tokens on any provider, at most: Anthropic's ≈1,600 for a full-size image bounds OpenAI's 1,445 and Gemini's 258 a tile. */
const imageTokens = 1600

function partTexts(part: Json, texts: string[]): number {
  if (typeof part.text === 'string') texts.push(part.text)
  else if (part.type === 'file' && typeof part.mediaType === 'string' && part.mediaType.startsWith('image/')) return imageTokens
  else if (part.type === 'file' || part.type === 'image') texts.push(typeof part.data === 'string' ? part.data : JSON.stringify(part.data ?? part.image ?? ''))
  else texts.push(JSON.stringify(part.input ?? part.output ?? part.args ?? part.result ?? part))
  return 0
}

/**
 * What an AI SDK call sends as its prompt: the messages of `params.prompt` (text, file, reasoning,
 * tool-call and tool-result parts), the tool definitions and a JSON response schema.
 */
export function aiSdkPrompt(params: Json): Prompt {
  const messages: PromptMessage[] = []
  for (const message of Array.isArray(params.prompt) ? (params.prompt as Json[]) : []) {
    const texts: string[] = []
    let fixedTokens = 0
    if (typeof message.content === 'string') texts.push(message.content)
    else if (Array.isArray(message.content)) for (const part of message.content as Json[]) fixedTokens += partTexts(part, texts)
    messages.push({ role: typeof message.role === 'string' ? message.role : undefined, texts, fixedTokens })
  }
  const tools = Array.isArray(params.tools) ? params.tools.map((tool) => JSON.stringify(tool)) : undefined
  const texts = params.responseFormat === undefined ? [] : [JSON.stringify(params.responseFormat)]
  return { messages, texts, tools }
}
