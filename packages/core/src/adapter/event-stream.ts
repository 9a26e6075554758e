import { meterReadableStream, type StreamMeter } from './stream-meter.js'
import { isObject, type Json } from '../shared/json.js'

const eventBoundary = /\r\n\r\n|\n\n|\r\r/

/** The data of one server-sent event block (its `data:` lines joined). */
export function eventData(block: string): string {
  if (block.startsWith('data: ') && !block.includes('\n') && !block.includes('\r')) return block.slice(6)
  return block
    .split(/\r\n|\n|\r/)
    .filter((line) => line.startsWith('data:'))
    .map((line) => line.slice(line.startsWith('data: ') ? 6 : 5))
    .join('\n')
}

/** The JSON object an event's data carries, if any (not `[DONE]`, not malformed). */
export function eventJson(data: string): Json | undefined {
  if (data === '' || data === '[DONE]') return undefined
  try {
    const parsed: unknown = JSON.parse(data)
    return isObject(parsed) ? parsed : undefined
  } catch {
    return undefined
  }
}

/** Unparsed event data kept for the produced text, before it is parsed down to text. */
const maxUnparsedLength = 65_536

/**
 * The data of text-carrying events, kept as it arrived: the text matters only if the usage never
 * comes, so it is parsed when a meter asks (`take`), or when what is kept grows past 64 KB.
 */
export class UnparsedText {
  readonly #textOf: (event: Json) => string
  #data: string[] = []
  #length = 0

  constructor(textOf: (event: Json) => string) {
    this.#textOf = textOf
  }

  /** Keeps one event's data; returns the text of what was kept when it grew too long, else `''`. */
  add(data: string): string {
    this.#data.push(data)
    this.#length += data.length
    return this.#length > maxUnparsedLength ? this.take() : ''
  }

  /** The text of everything kept, which is then let go. */
  take(): string {
    let text = ''
    for (const data of this.#data) {
      const event = eventJson(data)
      if (event) text += this.#textOf(event)
    }
    this.#data = []
    this.#length = 0
    return text
  }
}

/**
 * Passes a provider's server-sent event stream through byte for byte, showing each event block to
 * `inspect` (which meters it; `false` drops the block), pulled by its consumer; the meter ends with
 * the stream, or stops when it is cancelled or breaks.
 */
export function meterEventStream(source: ReadableStream<Uint8Array>, meter: StreamMeter, inspect: (block: string) => boolean): ReadableStream<Uint8Array> {
  const decoder = new TextDecoder()
  const encoder = new TextEncoder()
  let pending = ''
  const forward = (text: string, final: boolean): Uint8Array | undefined => {
    pending += text
    let output = ''
    for (let match = eventBoundary.exec(pending); match; match = eventBoundary.exec(pending)) {
      const block = pending.slice(0, match.index)
      pending = pending.slice(match.index + match[0].length)
      if (inspect(block)) output += block + match[0]
    }
    if (final && pending !== '') {
      if (inspect(pending)) output += pending
      pending = ''
    }
    return output === '' ? undefined : encoder.encode(output)
  }
  return meterReadableStream(
    source,
    meter,
    (bytes) => forward(decoder.decode(bytes, { stream: true }), false),
    () => forward(decoder.decode(), true),
  )
}
