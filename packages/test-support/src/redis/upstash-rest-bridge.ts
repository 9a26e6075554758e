import { createHash } from 'node:crypto'
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
 * An msw server that speaks Upstash's REST protocol (a command as a JSON array, `/pipeline` for
 * several) and runs each command on a real Redis, so the real `@upstash/redis` client runs our Lua
 * scripts on a real server.
 */
export function createUpstashRestBridge(redis: Redis) {
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
  const server = setupServer(
    http.post(`${upstashUrl}/pipeline`, async ({ request }) => {
      const base64 = request.headers.get('upstash-encoding') === 'base64'
      const commands = (await request.json()) as unknown[][]
      const replies = await Promise.all(commands.map(run))
      return Response.json(replies.map((reply) => ('result' in reply ? { result: encode(reply.result, base64) } : reply)))
    }),
    http.post(upstashUrl, async ({ request }) => {
      const base64 = request.headers.get('upstash-encoding') === 'base64'
      const reply = await run((await request.json()) as unknown[])
      if ('error' in reply) return Response.json(reply, { status: 400 })
      return Response.json({ result: encode(reply.result, base64) })
    }),
  )
  return {
    listen: () => server.listen({ onUnhandledFrame: 'error' }),
    close: () => server.close(),
  }
}
