// How close the default estimate is to the real count, per corpus sample and tokenizer: the
// figures behind the README's accuracy table. The estimate for a tokenizer is the one given
// `{ tokenizer }` (what a model of that family gets); "any" is the one without (a model whose
// tokenizer is not known), held to the larger count. Every ratio must be ≥ 1 (the tests enforce it).
//   npm run build && node bench/estimate-accuracy.ts
import { readdirSync, readFileSync } from 'node:fs'
import { estimateTokens } from '@tokenquota/core'
import { countTokens as countO200k } from 'gpt-tokenizer/encoding/o200k_base'
import { countTokens as countCl100k } from 'gpt-tokenizer/encoding/cl100k_base'

// The corpus of the estimate's tests (packages/test-support/corpus).
const folder = new URL('../packages/test-support/corpus/', import.meta.url)
const estimateCorpus = () =>
  readdirSync(folder)
    .sort()
    .map((name) => ({ name, kind: name.split(/[-.]/)[0]!, text: readFileSync(new URL(name, folder), 'utf8') }))

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted.length % 2 ? sorted[sorted.length >> 1]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2
}
const byKind = new Map<string, { o200k: number[]; cl100k: number[]; any: number[] }>()
console.log('| sample | o200k_base | estimate | ratio | cl100k_base | estimate | ratio | any: estimate / larger |\n|---|---:|---:|---:|---:|---:|---:|---:|')
for (const { name, kind, text } of estimateCorpus()) {
  const real = { o200k: countO200k(text), cl100k: countCl100k(text) }
  const estimate = {
    o200k: estimateTokens(text, { tokenizer: 'o200k_base' }),
    cl100k: estimateTokens(text, { tokenizer: 'cl100k_base' }),
    any: estimateTokens(text),
  }
  const ratios = byKind.get(kind) ?? { o200k: [], cl100k: [], any: [] }
  ratios.o200k.push(estimate.o200k / real.o200k)
  ratios.cl100k.push(estimate.cl100k / real.cl100k)
  ratios.any.push(estimate.any / Math.max(real.o200k, real.cl100k))
  byKind.set(kind, ratios)
  console.log(
    `| ${name} | ${real.o200k} | ${estimate.o200k} | ${(estimate.o200k / real.o200k).toFixed(2)} | ${real.cl100k} | ${estimate.cl100k} | ${(estimate.cl100k / real.cl100k).toFixed(2)} | ${(estimate.any / Math.max(real.o200k, real.cl100k)).toFixed(2)} |`,
  )
}
console.log('\n| kind | median estimate / real, o200k_base | cl100k_base | any (vs the larger) | lowest of all |\n|---|---:|---:|---:|---:|')
for (const [kind, ratios] of byKind) {
  console.log(
    `| ${kind} | ${median(ratios.o200k).toFixed(2)} | ${median(ratios.cl100k).toFixed(2)} | ${median(ratios.any).toFixed(2)} | ${Math.min(...ratios.o200k, ...ratios.cl100k, ...ratios.any).toFixed(2)} |`,
  )
}
