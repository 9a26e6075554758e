import { type MeteredCall, meterAsyncIterable, StreamMeter } from '@tokenquota/core/adapter'
import { answerOfCandidates, carriesOutput, textOfCandidates, usageOfMetadata } from './usage.js'

/**
 * Passes a stream of Gemini responses through, charging the last `usageMetadata` when it ends, or
 * the prompt and the text received so far when the caller stops early or the stream fails.
 */
export function meterResponses<Chunk>(source: AsyncIterable<Chunk>, call: MeteredCall): AsyncGenerator<Chunk> {
  const meter = new StreamMeter(call)
  let answered = false
  return meterAsyncIterable(source, meter, (chunk) => {
    meter.text(textOfCandidates(chunk))
    meter.answer(answerOfCandidates(chunk))
    answered ||= carriesOutput(chunk)
    meter.lastUsage(usageOfMetadata((chunk as { usageMetadata?: unknown }).usageMetadata, answered))
  })
}
