// Prompt estimation: the default estimate on prompts of 100k real (o200k_base) tokens — English
// prose, the non-Latin samples (Arabic, Chinese, Japanese, Hindi, Korean) and the whole estimation
// corpus — against an exact count with gpt-tokenizer (its import is paid once, on first use).
//   npm run build && node bench/estimation.ts
import { readdirSync, readFileSync } from 'node:fs'
import { estimateTokens } from '@tokenquota/core'
import { createExactEstimator } from '@tokenquota/openai'
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base'

const folder = new URL('../packages/test-support/corpus/', import.meta.url)
const samples = readdirSync(folder)
  .sort()
  .map((name) => ({ name, text: readFileSync(new URL(name, folder), 'utf8') }))
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
const joined = (pattern: RegExp) =>
  samples
    .filter((sample) => pattern.test(sample.name))
    .map((sample) => sample.text)
    .join('\n\n')

/** The text repeated up to 100k real tokens, as one flat string (as a request body parses into). */
function hundredThousandTokens(text: string): string {
  const repeats = Math.ceil(100_000 / countTokens(text))
  return Buffer.from(text.repeat(repeats)).toString()
}

/** Median milliseconds of `run` over `times` runs, after `times / 5` to warm up. */
async function timed(times: number, run: () => unknown): Promise<number> {
  const runs: number[] = []
  for (let i = 0; i < times + times / 5; i += 1) {
    const started = performance.now()
    await run()
    if (i >= times / 5) runs.push(performance.now() - started)
  }
  return median(runs)
}

const estimator = createExactEstimator()
const started = performance.now()
const warm = await estimator('warm up')
console.log(`gpt-tokenizer: first call (import + load) ${(performance.now() - started).toFixed(1)} ms for ${warm} tokens`)

const prompts = {
  'English prose': hundredThousandTokens(joined(/^prose/)),
  'non-Latin scripts': hundredThousandTokens(joined(/^(arabic|cjk|hindi|korean)/)),
  'the whole corpus': hundredThousandTokens(joined(/./)),
}
console.log(
  '| prompt (100k real o200k_base tokens) | estimated, gpt-4o | estimated, any model | estimateTokens | gpt-tokenizer | ratio |\n|---|---:|---:|---:|---:|---:|',
)
for (const [name, prompt] of Object.entries(prompts)) {
  const heuristic = await timed(250, () => estimateTokens(prompt, { model: 'gpt-4o' }))
  const exact = await timed(20, () => estimator(prompt))
  console.log(
    `| ${name} | ${estimateTokens(prompt, { model: 'gpt-4o' })} | ${estimateTokens(prompt)} | ${heuristic.toFixed(2)} ms | ${exact.toFixed(1)} ms | ${(heuristic / exact).toFixed(3)} |`,
  )
}
