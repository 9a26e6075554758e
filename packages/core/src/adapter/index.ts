// @tokenquota/core/adapter: the kit an adapter for a provider SDK is built from. An adapter reads its
// provider's request into a `Prompt` and its responses into usage; the rest is here. What an app passes to
// any adapter (`ResponseCache`, `FallbackOption`, `StreamAbortCharge`) is at the root.
export type { AdapterOptions } from './options.js'
export { callerContext } from './options.js'
export { estimatePrompt, openAIFraming, geminiFraming, anthropicFraming, anyProviderFraming, noFraming, framingOfProvider } from './prompt.js'
export type { Prompt, PromptMessage, PromptFraming } from './prompt.js'
export { reserveCall } from './reserve-call.js'
export type { CallReservation, CallToReserve } from './reserve-call.js'
export { MeteredCall } from './metered-call.js'
export type { CountedPrompt } from './metered-call.js'
export { StreamMeter, meterReadableStream, meterAsyncIterable } from './stream-meter.js'
export { meterOnRead } from './meter-on-read.js'
export { meterEventStream, eventData, eventJson, UnparsedText } from './event-stream.js'
export { resolveFallback } from './fallback.js'
export type { FallbackDecision } from './fallback.js'
export { normalizeUsage } from '../shared/usage.js'
export { tokenizerOfModel } from '../estimate/tokenizer-family.js'
export { isObject, positiveInteger, type Json } from '../shared/json.js'
