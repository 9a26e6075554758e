import Anthropic from '@anthropic-ai/sdk'
import type { APIPromise } from '@anthropic-ai/sdk/core/api-promise'
import type { Stream } from '@anthropic-ai/sdk/core/streaming'
import type { MessageStream } from '@anthropic-ai/sdk/lib/MessageStream'
import { createTokenQuota } from '@tokenquota/core'
import AnthropicV0 from 'anthropic-v0'
import { expectTypeOf } from 'vitest'
import { withTokenQuota } from './with-token-quota.js'

// Type-level tests, checked by `npm run typecheck`.
const quota = createTokenQuota({ policies: [{ name: 'user-daily', identifier: 'user', allow: 1000, interval: 1, timeUnit: 'day' }] })

const client = withTokenQuota(new Anthropic({ apiKey: 'sk-ant-test' }), { quota })
expectTypeOf(client).toEqualTypeOf<Anthropic>()
expectTypeOf(withTokenQuota(new AnthropicV0({ apiKey: 'sk-ant-test' }), { quota })).toEqualTypeOf<AnthropicV0>()

const params = { model: 'claude-sonnet-4-6', max_tokens: 100, messages: [{ role: 'user' as const, content: 'Hi' }] }
expectTypeOf(client.messages.create(params)).toEqualTypeOf<APIPromise<Anthropic.Message>>()
expectTypeOf(client.messages.create({ ...params, stream: true })).toEqualTypeOf<APIPromise<Stream<Anthropic.RawMessageStreamEvent>>>()
expectTypeOf(client.messages.stream(params)).toEqualTypeOf<MessageStream<null>>()

// @ts-expect-error: only Anthropic clients can be wrapped
withTokenQuota({ messages: {} }, { quota })
// @ts-expect-error: the quota is required
withTokenQuota(new Anthropic({ apiKey: 'sk-ant-test' }), {})
