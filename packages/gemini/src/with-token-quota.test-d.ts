import { GoogleGenAI } from '@google/genai'
import { GoogleGenerativeAI } from '@google/generative-ai'
import { createTokenQuota } from '@tokenquota/core'
import { expectTypeOf } from 'vitest'
import { withTokenQuota } from './with-token-quota.js'

// Type-level tests, checked by `npm run typecheck`.
const quota = createTokenQuota({ policies: [{ name: 'user-daily', identifier: 'user', allow: 1000, interval: 1, timeUnit: 'day' }] })

expectTypeOf(withTokenQuota(new GoogleGenAI({ apiKey: 'k' }), { quota })).toEqualTypeOf<GoogleGenAI>()
expectTypeOf(withTokenQuota(new GoogleGenerativeAI('k'), { quota })).toEqualTypeOf<GoogleGenerativeAI>()

// @ts-expect-error: only Gemini clients can be wrapped
withTokenQuota({ chat: {} }, { quota })
