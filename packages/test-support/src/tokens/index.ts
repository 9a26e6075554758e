// The real tokenizers (gpt-tokenizer's o200k_base and cl100k_base: ~0.75 s of CPU to load) and the
// helpers built on them, apart from the main entry: a test worker that counts no tokens loads none.
export { estimateCorpus, realTokens } from './estimate-corpus.js'
export type { CorpusSample } from './estimate-corpus.js'
export { createTokenMeter, densePrompts, openAIChatPromptTokens, raceNearLimit } from './token-meter.js'
