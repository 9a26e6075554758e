/** The OpenAI tokenizers the default estimate bounds. */
export type TokenizerFamily = 'o200k_base' | 'cl100k_base'

const o200kModels = /^(?:gpt-4o|chatgpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|gpt-oss|o[1-9](?:-|$)|codex-)/
const cl100kModels = /^(?:gpt-4(?:-|$)|gpt-3\.5|text-embedding-3-|text-embedding-ada-002|davinci-002|babbage-002)/

/**
 * The tokenizer of an OpenAI model, from its name: o200k_base for GPT-4o, GPT-4.1, GPT-4.5,
 * GPT-5 and the o-series; cl100k_base for GPT-4, GPT-3.5 and the embeddings. A fine-tuned model
 * (`ft:gpt-4o-mini:…`) or a provider prefix (`openai/gpt-4o`) counts as its base model. Undefined
 * for any other name (other providers, deployment names), where the estimate bounds both.
 */
export function tokenizerOfModel(model: string | undefined): TokenizerFamily | undefined {
  if (model === undefined) return undefined
  const name = model
    .toLowerCase()
    .replace(/^ft:/, '')
    .replace(/^openai\//, '')
  if (o200kModels.test(name)) return 'o200k_base'
  if (cl100kModels.test(name)) return 'cl100k_base'
  return undefined
}
