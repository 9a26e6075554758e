import type { MeteredCall } from '@tokenquota/core'
import { textOfCandidates, usageOfMetadata } from './usage.js'

/**
 * Passes a stream of Gemini responses through, charging the last `usageMetadata` when it ends, or
 * the prompt and the text received so far when the caller stops early or the stream fails.
 */
export async function* meterResponses<Chunk>(source: AsyncIterable<Chunk>, call: MeteredCall): AsyncGenerator<Chunk> {
  let produced = ''
  let usage: unknown
  let finished = false
  try {
    for await (const chunk of source) {
      produced += textOfCandidates(chunk)
      usage = (chunk as { usageMetadata?: unknown }).usageMetadata ?? usage
      yield chunk
    }
    finished = true
    await call.commitUsage(usageOfMetadata(usage), produced)
  } finally {
    if (!finished) await call.commitInterrupted(produced)
  }
}
