import { createTokenQuota } from '@tokenquota/core'
import OpenAI, { AzureOpenAI } from 'openai'
import type { APIPromise } from 'openai/core/api-promise'
import type { Stream } from 'openai/core/streaming'
import { expectTypeOf } from 'vitest'
import { withTokenQuota } from './with-token-quota.js'

// Type-level tests, checked by `npm run typecheck`.
const quota = createTokenQuota({ policies: [{ name: 'user-daily', identifier: 'user', allow: 1000, interval: 1, timeUnit: 'day' }] })

const client = withTokenQuota(new OpenAI({ apiKey: 'sk-test' }), { quota })
expectTypeOf(client).toEqualTypeOf<OpenAI>()
expectTypeOf(
  withTokenQuota(new AzureOpenAI({ apiKey: 'k', endpoint: 'https://example.openai.azure.com', apiVersion: '2025-04-01-preview' }), { quota }),
).toEqualTypeOf<AzureOpenAI>()

const plain = client.chat.completions.create({ model: 'gpt-4o', messages: [] })
expectTypeOf(plain).toEqualTypeOf<APIPromise<OpenAI.Chat.Completions.ChatCompletion>>()
const streamed = client.chat.completions.create({ model: 'gpt-4o', messages: [], stream: true })
expectTypeOf(streamed).toEqualTypeOf<APIPromise<Stream<OpenAI.Chat.Completions.ChatCompletionChunk>>>()

// @ts-expect-error: only OpenAI clients can be wrapped
withTokenQuota({ chat: {} }, { quota })
// @ts-expect-error: the quota is required
withTokenQuota(new OpenAI({ apiKey: 'sk-test' }), {})
