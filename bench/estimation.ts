// Prompt estimation: the default estimate on prompts of 100k real (o200k_base) tokens — English
// prose, and the whole estimation corpus (code, JSON, ids, base64, non-Latin scripts) — and the
// exact count with gpt-tokenizer, whose import is paid once, on first use.
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

/** The text repeated up to 100k real tokens, as one flat string (as a request body parses into). */
function hundredThousandTokens(text: string): string {
  const repeats = Math.ceil(100_000 / countTokens(text))
  return Buffer.from(text.repeat(repeats)).toString()
}

const prompts = {
  'English prose': hundredThousandTokens(
    samples
      .filter((sample) => sample.name.startsWith('prose'))
      .map((sample) => sample.text)
      .join('\n\n'),
  ),
  'the whole corpus': hundredThousandTokens(samples.map((sample) => sample.text).join('\n\n')),
}
for (const [name, prompt] of Object.entries(prompts)) {
  const runs: number[] = []
  for (let run = 0; run < 300; run += 1) {
    const started = performance.now()
    estimateTokens(prompt)
    runs.push(performance.now() - started)
  }
  console.log(`heuristic, ${name}: ${countTokens(prompt)} real tokens, ${estimateTokens(prompt)} estimated, median ${median(runs.slice(50)).toFixed(3)} ms`)
}

const prompt = prompts['English prose']
const estimator = createExactEstimator()
let started = performance.now()
const exact = await estimator('warm up')
const firstCall = performance.now() - started
const exactRuns: number[] = []
for (let run = 0; run < 20; run += 1) {
  started = performance.now()
  await estimator(prompt)
  exactRuns.push(performance.now() - started)
}
console.log(
  `gpt-tokenizer: first call (import + load) ${firstCall.toFixed(1)} ms for ${exact} tokens; then ${await estimator(prompt)} tokens exactly, median ${median(exactRuns).toFixed(1)} ms`,
)
