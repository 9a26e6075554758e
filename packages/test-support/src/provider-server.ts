import { http, passthrough, type JsonBodyType } from 'msw'
import { setupServer } from 'msw/node'
import { anthropicBaseURL } from './anthropic-fixtures.js'
import { geminiBaseURL } from './gemini-fixtures.js'

// Plain HTTP: msw answers on the socket, so an https base would have every connection build a TLS
// context (about a fifth of each mocked request's CPU) for nothing the adapters see.
export const baseURL = 'http://api.openai.test/v1'

/** One recorded HTTP request. */
export interface RecordedCall {
  readonly method: string
  readonly path: string
  readonly headers: Headers
  readonly body: Record<string, unknown> | undefined
}

/** How one request is answered. */
export type Reply =
  | { readonly kind: 'json'; readonly body: JsonBodyType; readonly status?: number; readonly headers?: Record<string, string> }
  | {
      readonly kind: 'sse'
      readonly events: ReadonlyArray<{ readonly event?: string; readonly data: unknown }>
      /** Send `[DONE]` after the events (chat and completions streams do). @default true */
      readonly done?: boolean
      /** Break the connection after this many events. */
      readonly failAfter?: number
    }
  | { readonly kind: 'hang' }
  /** An answer made from the request's body (e.g. usage counted with a real tokenizer). */
  | { readonly kind: 'computed'; readonly answer: (body: Record<string, unknown>) => Reply }

/** Answers each request with what `answer` makes of its body. */
export const computed = (answer: (body: Record<string, unknown>) => Reply): Reply => ({ kind: 'computed', answer })

/** The request arrives and no answer comes until the client aborts it (a long call, e.g. reasoning). */
export const hang = (): Reply => ({ kind: 'hang' })

export const json = (body: JsonBodyType, status = 200, headers: Record<string, string> = {}): Reply => ({ kind: 'json', body, status, headers })
export const sse = (
  events: ReadonlyArray<{ event?: string; data: unknown } | Record<string, unknown>>,
  options: { done?: boolean; failAfter?: number } = {},
): Reply => ({
  kind: 'sse',
  events: events.map((event) =>
    'data' in event && Object.keys(event).every((key) => key === 'data' || key === 'event') ? (event as { event?: string; data: unknown }) : { data: event },
  ),
  ...options,
})

function sseResponse(reply: Extract<Reply, { kind: 'sse' }>): Response {
  const encoder = new TextEncoder()
  const blocks = reply.events.map(({ event, data }) => `${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`)
  if (reply.done ?? true) blocks.push('data: [DONE]\n\n')
  let index = 0
  const body = new ReadableStream<Uint8Array>({
    // One event per pull, each on its own macrotask: the client sees a real, chunked stream.
    async pull(controller) {
      await new Promise((resolve) => setImmediate(resolve))
      if (reply.failAfter !== undefined && index === reply.failAfter) {
        controller.error(new Error('upstream connection reset'))
        return
      }
      const block = blocks[index++]
      if (block === undefined) controller.close()
      else controller.enqueue(encoder.encode(block))
    },
  })
  return new Response(body, { headers: { 'content-type': 'text/event-stream; charset=utf-8', 'x-request-id': 'req_stream' } })
}

/**
 * Provider HTTP APIs on msw for tests (OpenAI at `baseURL`, Anthropic at `anthropicBaseURL`, or
 * the bases given): unhandled requests fail the test, every request is recorded, and each path
 * (relative to its base, e.g. `/chat/completions`, `/v1/messages`) answers from a queue of
 * replies, the last one repeating.
 */
export function createProviderServer(bases: readonly string[] = [baseURL, anthropicBaseURL, geminiBaseURL]) {
  const calls: RecordedCall[] = []
  const replies = new Map<string, Reply[]>()
  const arrivals = new Set<{ readonly count: number; resolve(): void }>()
  const server = setupServer(
    // Real local servers (for failures msw cannot fake, like a connection reset mid-stream) pass through.
    http.all(/^http:\/\/127\.0\.0\.1:\d+\//, () => passthrough()),
    ...bases.map((base) =>
      http.all(`${base}/*`, async ({ request }) => {
        const url = new URL(request.url)
        const path = url.pathname.slice(new URL(base).pathname.replace(/\/$/, '').length)
        const text = await request.text()
        calls.push({ method: request.method, path, headers: request.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined })
        const queue = replies.get(path)
        const queued = queue && queue.length > 1 ? queue.shift()! : queue?.[0]
        const reply = queued?.kind === 'computed' ? queued.answer(calls.at(-1)!.body ?? {}) : queued
        for (const waiter of [...arrivals]) {
          if (calls.length < waiter.count) continue
          arrivals.delete(waiter)
          waiter.resolve()
        }
        if (!reply || reply.kind === 'computed') return Response.json({ error: { message: `no reply set for ${path}` } }, { status: 501 })
        if (reply.kind === 'sse') return sseResponse(reply)
        if (reply.kind === 'hang') {
          await new Promise((resolve) => request.signal.addEventListener('abort', resolve, { once: true }))
          return Response.error()
        }
        return Response.json(reply.body, { status: reply.status ?? 200, headers: { 'x-request-id': 'req_json', ...reply.headers } })
      }),
    ),
  )
  return {
    calls,
    /** Answers `path` (e.g. `/chat/completions`) with these replies in order; the last repeats. */
    reply(path: string, ...queue: Reply[]) {
      replies.set(path, [...queue])
    },
    /** Resolves once `count` requests have arrived in all. */
    arrived(count: number): Promise<void> {
      if (calls.length >= count) return Promise.resolve()
      return new Promise((resolve) => arrivals.add({ count, resolve }))
    },
    listen: () => server.listen({ onUnhandledFrame: 'error' }),
    reset() {
      calls.length = 0
      replies.clear()
    },
    close: () => server.close(),
  }
}
