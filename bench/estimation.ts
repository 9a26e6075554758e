// Prompt estimation: the default heuristic on a 100k-token chat prompt, and the exact count with
// gpt-tokenizer, whose import is paid once, on first use.
//   npm run build && node bench/estimation.ts
import { estimateTokens } from '@tokenquota/core'
import { createExactEstimator } from '@tokenquota/openai'

const paragraph = 'The quick brown fox jumps over the lazy dog while the model counts every token twice. '
const prompt = paragraph.repeat(Math.ceil(400_000 / paragraph.length)).slice(0, 400_000) // ≈ 100k tokens
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

const heuristic: number[] = []
for (let run = 0; run < 200; run += 1) {
  const started = performance.now()
  estimateTokens(prompt)
  heuristic.push(performance.now() - started)
}
console.log(`heuristic: ${estimateTokens(prompt)} tokens estimated, median ${median(heuristic.slice(20)).toFixed(3)} ms`)

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
console.log(`gpt-tokenizer: first call (import + load) ${firstCall.toFixed(1)} ms for ${exact} tokens; then ${await estimator(prompt)} tokens exactly, median ${median(exactRuns).toFixed(1)} ms`)
