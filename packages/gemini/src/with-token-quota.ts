import { instrumentGenAI, type GoogleGenAILike } from './genai.js'
import { instrumentGenerativeAI, type GoogleGenerativeAILike } from './generative-ai.js'
import type { WithTokenQuotaOptions } from './options.js'

const wrapped = Symbol.for('tokenquota.gemini.wrapped')

function isGenAI(client: unknown): client is GoogleGenAILike {
  const models = (client as { models?: Record<string, unknown> } | null)?.models
  return typeof models?.generateContent === 'function' && typeof models.generateContentStream === 'function'
}

function isGenerativeAI(client: unknown): client is GoogleGenerativeAILike {
  return typeof (client as { getGenerativeModel?: unknown } | null)?.getGenerativeModel === 'function'
}

/**
 * Meters a Gemini client — a `GoogleGenAI` from `@google/genai` or a `GoogleGenerativeAI` from
 * `@google/generative-ai` — and returns it, with its exact type. Every token-consuming call is
 * reserved against the caller's quota before it is sent and charged with the response's
 * `usageMetadata` (`totalTokenCount`, thinking included).
 *
 * The client is instrumented in place (its methods are instance properties that the SDK's own
 * chats call), so wrap the client you use everywhere, once.
 *
 * @example
 * const ai = withTokenQuota(new GoogleGenAI({ apiKey }), { quota, fallback: { 'gemini-2.5-pro': 'gemini-2.5-flash' } })
 */
export function withTokenQuota<Client extends GoogleGenAILike | GoogleGenerativeAILike>(client: Client, options: WithTokenQuotaOptions): Client {
  if ((client as unknown as Record<symbol, unknown>)[wrapped]) throw new TypeError('This Gemini client is already wrapped by withTokenQuota(); wrap it once')
  if (isGenAI(client)) instrumentGenAI(client, options)
  else if (isGenerativeAI(client)) instrumentGenerativeAI(client, options)
  else throw new TypeError('withTokenQuota() expects a GoogleGenAI client (@google/genai) or a GoogleGenerativeAI client (@google/generative-ai)')
  Object.defineProperty(client, wrapped, { value: true })
  return client
}
