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

/**
 * Answers Upstash's REST protocol (a command as a JSON array, `/pipeline` for several) by running
 * each command on a real Redis, so the real `@upstash/redis` client runs our Lua scripts on a real server.
 */
export function upstashRestHandler(redis: Redis): (request: Request) => Promise<Response> {
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
  return async (request) => {
    const base64 = request.headers.get('upstash-encoding') === 'base64'
    if (new URL(request.url).pathname.endsWith('/pipeline')) {
      const replies = await Promise.all(((await request.json()) as unknown[][]).map(run))
      return Response.json(replies.map((reply) => ('result' in reply ? { result: encode(reply.result, base64) } : reply)))
    }
    const reply = await run((await request.json()) as unknown[])
    if ('error' in reply) return Response.json(reply, { status: 400 })
    return Response.json({ result: encode(reply.result, base64) })
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
  const handle = upstashRestHandler(redis)
  const server = createServer(async (incoming, outgoing) => {
    let body = ''
    for await (const chunk of incoming) body += chunk
    const request = new Request(`http://127.0.0.1${incoming.url ?? '/'}`, {
      method: incoming.method,
      headers: incoming.headers as Record<string, string>,
      body,
    })
    const response = await handle(request)
    outgoing.writeHead(response.status, { 'content-type': 'application/json' }).end(await response.text())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}
