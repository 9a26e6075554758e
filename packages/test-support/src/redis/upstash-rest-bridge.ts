import { createHash } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Redis } from 'ioredis'
import { http } from 'msw'
import { setupServer } from 'msw/node'

export const upstashUrl = 'https://tokenquota-test.upstash.io'

/** Upstash's REST encoding: bulk strings base64-encoded when the client asks for it. */
function encode(value: unknown, base64: boolean): unknown {
  if (typeof value === 'string') return base64 && value !== 'OK' ? Buffer.from(value).toString('base64') : value
  if (Array.isArray(value)) return value.map((element) => encode(element, base64))
  return value
}

/** An answer of the REST protocol: its HTTP status and JSON body. */
interface RestAnswer {
  readonly status: number
  readonly body: unknown
}

/**
 * Answers Upstash's REST protocol (a command as a JSON array, `/pipeline` for several) by running
 * each command on a real Redis, so the real `@upstash/redis` client runs our Lua scripts on a real
 * server. Takes the request's path, whether it asked for base64, and its parsed body.
 */
function restAnswerer(redis: Redis): (pathname: string, base64: boolean, body: unknown) => Promise<RestAnswer> {
  // Upstash's server accepts script flags that redis-server 7.0 does not (`allow-key-locking`, used
  // by @upstash/ratelimit): drop them, and send EVALSHA for the original script to the rewritten one.
  const shaOf = (source: string) => createHash('sha1').update(source).digest('hex')
  const rewrittenSha = new Map<string, string>()
  const portable = (source: string) => {
    const rewritten = source.replace(/^#!lua[^\n]*/, (shebang) => shebang.replace(/\s*flags=allow-key-locking/, ''))
    if (rewritten !== source) rewrittenSha.set(shaOf(source), shaOf(rewritten))
    return rewritten
  }
  const run = async (command: unknown[]) => {
    try {
      const [name, ...args] = command.map(String)
      const upper = name!.toUpperCase()
      if (upper === 'EVAL') args[0] = portable(args[0]!)
      if (upper === 'EVALSHA') args[0] = rewrittenSha.get(args[0]!) ?? args[0]!
      if (upper === 'SCRIPT' && args[0]?.toUpperCase() === 'LOAD') {
        const original = args[1]!
        args[1] = portable(original)
        await redis.call('SCRIPT', 'LOAD', args[1])
        return { result: shaOf(original) }
      }
      return { result: await redis.call(name!, ...args) }
    } catch (error) {
      return { error: error instanceof Error ? error.message : String(error) }
    }
  }
  return async (pathname, base64, body) => {
    if (pathname.endsWith('/pipeline')) {
      const replies = await Promise.all((body as unknown[][]).map(run))
      return { status: 200, body: replies.map((reply) => ('result' in reply ? { result: encode(reply.result, base64) } : reply)) }
    }
    const reply = await run(body as unknown[])
    if ('error' in reply) return { status: 400, body: reply }
    return { status: 200, body: { result: encode(reply.result, base64) } }
  }
}

/** `restAnswerer` as a fetch handler (a `Request` in, a `Response` out), for msw. */
export function upstashRestHandler(redis: Redis): (request: Request) => Promise<Response> {
  const answer = restAnswerer(redis)
  return async (request) => {
    const { status, body } = await answer(new URL(request.url).pathname, request.headers.get('upstash-encoding') === 'base64', await request.json())
    return Response.json(body, { status })
  }
}

/** An msw server answering Upstash's REST protocol at `upstashUrl` from a real Redis (see `upstashRestHandler`). */
export function createUpstashRestBridge(redis: Redis) {
  const handle = upstashRestHandler(redis)
  const server = setupServer(
    http.post(`${upstashUrl}/pipeline`, ({ request }) => handle(request)),
    http.post(upstashUrl, ({ request }) => handle(request)),
  )
  return {
    listen: () => server.listen({ onUnhandledFrame: 'error' }),
    close: () => server.close(),
  }
}

/**
 * The same bridge as a real HTTP server on a free local port, for clients msw cannot reach: a
 * worker in workerd, an edge runtime. Resolves with its URL and a `close()`.
 */
export async function startUpstashRestServer(redis: Redis): Promise<{ url: string; close(): Promise<void> }> {
  // Straight from Node's request to the answer: no fetch Request and Response built per call, a
  // cost of the bridge, not of the client under test (these tests send thousands of calls).
  const answer = restAnswerer(redis)
  const server = createServer(async (incoming, outgoing) => {
    let text = ''
    for await (const chunk of incoming) text += chunk
    const pathname = new URL(incoming.url ?? '/', 'http://127.0.0.1').pathname
    const { status, body } = await answer(pathname, incoming.headers['upstash-encoding'] === 'base64', JSON.parse(text))
    outgoing.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}
