import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A real local HTTP server that starts an event stream with `events` and then resets the
 * connection: the mid-stream failure msw cannot fake (it turns a failing mocked body into a clean
 * end). Resolves with its OpenAI-style base URL (`…/v1`), its `origin` (Anthropic's base) and a `close()`.
 * An item `{ event, data }` is sent as a named event (Anthropic's), anything else as its data.
 */
export async function startResettingServer(events: readonly unknown[]): Promise<{ baseURL: string; origin: string; close(): void }> {
  const block = (item: unknown) => {
    const named = item as { event?: unknown; data?: unknown }
    const isNamed = typeof named === 'object' && named !== null && typeof named.event === 'string' && 'data' in named
    return isNamed ? `event: ${named.event as string}\ndata: ${JSON.stringify(named.data)}\n\n` : `data: ${JSON.stringify(item)}\n\n`
  }
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/event-stream' })
    for (const event of events) response.write(block(event))
    setTimeout(() => response.socket?.destroy(), 20)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { baseURL: `${origin}/v1`, origin, close: () => server.close() }
}
