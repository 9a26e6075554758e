// How close the default estimate is to the real count, per corpus sample and tokenizer: the
// figures behind the README's accuracy table. Every ratio must be ≥ 1 (the tests enforce it).
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
const realTokens = (text: string) => ({ o200k: countO200k(text), cl100k: countCl100k(text) })

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted.length % 2 ? sorted[sorted.length >> 1]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2
}
const byKind = new Map<string, { o200k: number[]; cl100k: number[] }>()
console.log('| sample | estimate | o200k_base | cl100k_base | ratio o200k | ratio cl100k |\n|---|---:|---:|---:|---:|---:|')
for (const { name, kind, text } of estimateCorpus()) {
  const estimate = estimateTokens(text)
  const real = realTokens(text)
  const ratios = byKind.get(kind) ?? { o200k: [], cl100k: [] }
  ratios.o200k.push(estimate / real.o200k)
  ratios.cl100k.push(estimate / real.cl100k)
  byKind.set(kind, ratios)
  console.log(`| ${name} | ${estimate} | ${real.o200k} | ${real.cl100k} | ${(estimate / real.o200k).toFixed(2)} | ${(estimate / real.cl100k).toFixed(2)} |`)
}
console.log('\n| kind | median estimate / real, o200k | cl100k | lowest of both |\n|---|---:|---:|---:|')
for (const [kind, ratios] of byKind) {
  console.log(
    `| ${kind} | ${median(ratios.o200k).toFixed(2)} | ${median(ratios.cl100k).toFixed(2)} | ${Math.min(...ratios.o200k, ...ratios.cl100k).toFixed(2)} |`,
  )
}
