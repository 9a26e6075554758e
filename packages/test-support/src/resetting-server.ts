import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A real local HTTP server that starts an event stream with `events` and then resets the
 * connection: the mid-stream failure msw cannot fake (it turns a failing mocked body into a clean
 * end). Resolves with its OpenAI-style base URL (`…/v1`) and a `close()`.
 */
export async function startResettingServer(events: readonly unknown[]): Promise<{ baseURL: string; close(): void }> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/event-stream' })
    for (const event of events) response.write(`data: ${JSON.stringify(event)}\n\n`)
    setTimeout(() => response.socket?.destroy(), 20)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, close: () => server.close() }
}
