// @tokenquota/core/adapter: the kit an adapter for a provider SDK is built from. An adapter reads its
// provider's request into a `Prompt` and its responses into usage; the rest is here.
export type { AdapterOptions } from './options.js'
export { callerContext } from './options.js'
export { estimatePrompt, openAIFraming, geminiFraming, anyProviderFraming, noFraming, framingOfProvider } from './prompt.js'
export type { Prompt, PromptMessage, PromptFraming } from './prompt.js'
export { reserveCall } from './reserve-call.js'
export type { CallReservation, CallToReserve } from './reserve-call.js'
export { MeteredCall } from './metered-call.js'
export type { StreamAbortCharge } from './metered-call.js'
export { StreamMeter, meterReadableStream, meterAsyncIterable } from './stream-meter.js'
export { resolveFallback } from './fallback.js'
export type { FallbackOption, FallbackInfo, FallbackAnswer, FallbackDecision } from './fallback.js'
export { normalizeUsage } from '../shared/usage.js'
