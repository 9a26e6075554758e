// @tokenquota/core/adapter: what an adapter for a provider SDK needs beyond the engine.
export { estimatePrompt, openAIFraming, geminiFraming, anyProviderFraming, noFraming, framingOfProvider } from './prompt.js'
export type { Prompt, PromptMessage, PromptFraming } from './prompt.js'
