import { createServer, connect, type Socket } from 'node:net'

/** A TCP proxy to a redis-server that can lose a reply: the network cut of a real deployment. */
export interface ReplyDroppingProxy {
  readonly url: string
  /**
   * The next reply the server sends is dropped and the client's connection cut: the command ran
   * on the server, its client never heard back (ioredis then re-sends it on reconnect).
   */
  dropNextReply(): void
  /** Replies dropped so far. */
  readonly dropped: number
  close(): Promise<void>
}

/** Starts a proxy on a free port in front of `127.0.0.1:targetPort`. */
export async function startReplyDroppingProxy(targetPort: number): Promise<ReplyDroppingProxy> {
  let dropping = false
  let dropped = 0
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1')
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      socket.on('error', () => undefined)
    }
    client.on('data', (chunk) => upstream.write(chunk))
    upstream.on('data', (chunk) => {
      if (!dropping) {
        client.write(chunk)
        return
      }
      dropping = false
      dropped += 1
      client.destroy()
      upstream.destroy()
    })
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (typeof address !== 'object' || !address) throw new Error('the proxy has no port')
  return {
    url: `redis://127.0.0.1:${address.port}`,
    dropNextReply: () => {
      dropping = true
    },
    get dropped() {
      return dropped
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}
