import { countTokens } from 'gpt-tokenizer/encoding/o200k_base'
import { createTokenQuota, type TokenQuota } from '@tokenquota/core'
import { estimateCorpus } from './estimate-corpus.js'
import { geminiResponse } from '../gemini-fixtures.js'
import { chatCompletion, responseObject } from '../openai-fixtures.js'
import { json, type Reply } from '../provider-server.js'
import type { Json } from '@tokenquota/core/adapter'

/** Prompts that agents and RAG send, dense for a tokenizer: a JSON tool result, ids, a base64 blob. */
export function densePrompts(): Record<'json' | 'ids' | 'base64', string> {
  const text = (name: string) => estimateCorpus().find((sample) => sample.name === name)!.text
  return { json: text('json-minified.json'), ids: text('ids-uuid.txt'), base64: text('base64-blob.txt').slice(0, 2400) }
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content
  if (Array.isArray(content))
    return content.map((part) => (typeof part === 'string' ? part : typeof (part as Json)?.text === 'string' ? ((part as Json).text as string) : '')).join('')
  return ''
}

/** OpenAI's count of a chat prompt (the cookbook's `num_tokens_from_messages`, o200k_base). */
export function openAIChatPromptTokens(messages: readonly Json[]): number {
  let tokens = 3 // primes the reply
  for (const message of messages) {
    tokens += 3 + countTokens(String(message.role ?? '')) + countTokens(textOf(message.content))
    if (typeof message.name === 'string') tokens += 1 + countTokens(message.name)
  }
  return tokens
}

/**
 * A provider that counts what it serves with the real tokenizer: replies whose usage is the
 * prompt's o200k_base count and a fixed short answer, and the running total of tokens served.
 */
export function createTokenMeter(answerTokens = 12) {
  let served = 0
  const serve = (prompt: number, cap: unknown) => {
    const completion = typeof cap === 'number' ? Math.min(cap, answerTokens) : answerTokens
    served += prompt + completion
    return completion
  }
  return {
    /** Tokens the provider has counted (prompt + completion) over every request answered. */
    get served() {
      return served
    },
    chat: (body: Json): Reply => {
      const prompt = openAIChatPromptTokens(body.messages as Json[])
      const completion = serve(prompt, body.max_completion_tokens ?? body.max_tokens)
      return json(chatCompletion({ content: 'ok', usage: { prompt, completion } }))
    },
    responses: (body: Json): Reply => {
      const input = typeof body.input === 'string' ? [{ role: 'user', content: body.input }] : (body.input as Json[])
      const prompt = openAIChatPromptTokens(input) + (typeof body.instructions === 'string' ? countTokens(body.instructions) : 0)
      const completion = serve(prompt, body.max_output_tokens)
      return json(responseObject({ text: 'ok', usage: { prompt, completion } }))
    },
    /** Gemini's own tokenizer is not public: its prompt is counted with o200k_base, text only. */
    gemini: (body: Json): Reply => {
      const contents = (body.contents as Json[]).flatMap((content) => (content.parts as Json[]) ?? [])
      const prompt = countTokens(contents.map((part) => (typeof part.text === 'string' ? part.text : '')).join(''))
      const completion = serve(prompt, (body.generationConfig as Json | undefined)?.maxOutputTokens)
      return json(geminiResponse({ text: 'ok', usage: { prompt, candidates: completion } }))
    },
  }
}

/**
 * 40 calls race for one user on a daily budget of 10 calls' real cost (`realPerCall`).
 * `sender` builds, on the engine it is given, one call; returns the budget and how it went.
 */
export async function raceNearLimit(realPerCall: number, sender: (quota: TokenQuota) => () => Promise<unknown>) {
  const allow = 10 * realPerCall
  const quota = createTokenQuota({ policies: [{ name: 'user-daily', identifier: 'user', allow, interval: 1, timeUnit: 'day' }] })
  const send = sender(quota)
  const results = await quota.withContext({ user: 'alice' }, () => Promise.allSettled(Array.from({ length: 40 }, send)))
  const refusals = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []))
  return { allow, admitted: results.length - refusals.length, refusals }
}
