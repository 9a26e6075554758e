import { readdirSync, readFileSync } from 'node:fs'
import { countTokens as countO200k } from 'gpt-tokenizer/encoding/o200k_base'
import { countTokens as countCl100k } from 'gpt-tokenizer/encoding/cl100k_base'

const corpusFolder = new URL('../../corpus/', import.meta.url)

/** One text of the estimation corpus; `kind` is its file name's first word (prose, code, json, ids, …). */
export interface CorpusSample {
  readonly name: string
  readonly kind: string
  readonly text: string
}

/** The checked-in corpus that the prompt estimate is held to: prose, code, JSON, CSV, ids, base64, URLs, non-Latin scripts. */
export function estimateCorpus(): CorpusSample[] {
  return readdirSync(corpusFolder)
    .sort()
    .map((name) => ({ name, kind: name.split(/[-.]/)[0]!, text: readFileSync(new URL(name, corpusFolder), 'utf8') }))
}

/** What OpenAI's tokenizers really count for a text: o200k_base (GPT-4o and later) and cl100k_base (GPT-4, GPT-3.5). */
export function realTokens(text: string): { o200k: number; cl100k: number } {
  return { o200k: countO200k(text), cl100k: countCl100k(text) }
}
