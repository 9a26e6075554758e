function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/**
 * Charges a JSON response from the body as its reader reads it — the SDK's own `response.json()`,
 * or any other way (`text()`, `arrayBuffer()`, `body`, … after `.asResponse()`) — instead of
 * cloning it: no second copy of the body, no second parse. `charge` runs once, with the parsed body
 * (`undefined` when it is not JSON), before the read resolves, so the call is charged before its
 * caller sees the result. A body nobody reads is never charged: its reservation expires with the lease.
 */
export function meterOnRead(response: Response, charge: (parsed: unknown) => Promise<void>, interrupted: () => Promise<void>): Response {
  const read = <T>(method: (this: Response) => Promise<T>, parse: (value: T) => unknown | Promise<unknown>) =>
    async function (this: Response): Promise<T> {
      let value: T
      try {
        value = await method.call(response)
      } catch (error) {
        await interrupted()
        throw error
      }
      await charge(await parse(value))
      return value
    }
  const decode = (bytes: ArrayBuffer | Uint8Array) => parseJson(new TextDecoder().decode(bytes))
  const own = response as unknown as Record<string, unknown>
  own.json = read(response.json, (parsed) => parsed)
  own.text = read(response.text, parseJson)
  own.arrayBuffer = read(response.arrayBuffer, decode)
  own.blob = read(response.blob, async (blob) => parseJson(await blob.text()))
  if (typeof (response as { bytes?: unknown }).bytes === 'function') own.bytes = read((response as unknown as { bytes(): Promise<Uint8Array> }).bytes, decode)
  own.formData = read(response.formData, () => undefined)

  // Reading `body` (or its `locked`) neither consumes nor locks it: the metered stream takes the
  // body's reader only when it is first read. Where the runtime defines `body` (a prototype getter in
  // Node, elsewhere in workerd), the instance's own property shadows it.
  const body = response.body
  let metered: ReadableStream<Uint8Array> | null | undefined
  Object.defineProperty(response, 'body', {
    configurable: true,
    get: () => (metered ??= meterStream(body, (bytes) => (bytes ? charge(decode(bytes)) : interrupted()))),
  })
  return response
}

/**
 * The body as a stream read chunk by chunk: charged from the whole body at its end, or as interrupted
 * when cancelled or broken. Lazy: nothing is read, and the body is not locked, until it is read
 * (a high-water mark of 0 keeps the stream from pulling ahead on its own).
 */
function meterStream(body: ReadableStream<Uint8Array> | null, charge: (bytes: Uint8Array | undefined) => Promise<void>): ReadableStream<Uint8Array> | null {
  if (body === null) return null
  const chunks: Uint8Array[] = []
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let next: Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']>>
        try {
          reader ??= body.getReader()
          next = await reader.read()
        } catch (error) {
          await charge(undefined)
          throw error
        }
        if (next.done) {
          await charge(concat(chunks))
          controller.close()
          return
        }
        chunks.push(next.value)
        controller.enqueue(next.value)
      },
      async cancel(reason) {
        await charge(undefined)
        await (reader ?? body).cancel(reason)
      },
    },
    { highWaterMark: 0 },
  )
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const whole = new Uint8Array(chunks.reduce((length, chunk) => length + chunk.length, 0))
  let offset = 0
  for (const chunk of chunks) {
    whole.set(chunk, offset)
    offset += chunk.length
  }
  return whole
}
