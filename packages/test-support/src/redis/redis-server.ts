import { spawn, type ChildProcess } from 'node:child_process'
import { rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { freePort } from '../free-port.js'

/** A real `redis-server` on a free port, with persistence off. */
export interface RedisServer {
  readonly port: number
  readonly url: string
  /**
   * Path of its Unix domain socket (ioredis: `new Redis(socket)`; node-redis: `socket: { path }`),
   * for tests whose subject is not the transport: a command costs both ends less CPU than on
   * loopback TCP.
   */
  readonly socket: string
  /** Stops the server (SIGKILL: the abrupt loss an app must survive). */
  kill(): Promise<void>
  /** Starts it again on the same port, empty. */
  restart(): Promise<void>
  /** Freezes the server (SIGSTOP): connections stay open and nothing answers — a hung Redis. */
  pause(): void
  /** Lets a paused server run again (SIGCONT). */
  resume(): void
}

async function launch(port: number, socket: string): Promise<ChildProcess> {
  const options = ['--port', String(port), '--bind', '127.0.0.1', '--unixsocket', socket, '--unixsocketperm', '700', '--save', '', '--appendonly', 'no']
  const child = spawn('redis-server', options, { stdio: ['ignore', 'pipe', 'pipe'] })
  await new Promise<void>((resolve, reject) => {
    let output = ''
    child.once('error', (error) =>
      reject(new Error(`Cannot start redis-server (is it on the PATH? npm test installs it first: scripts/provision-test-deps.mjs): ${error.message}`)),
    )
    child.once('exit', (code) => reject(new Error(`redis-server exited with code ${code}: ${output}`)))
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes('Ready to accept connections')) resolve()
    })
  })
  child.removeAllListeners('exit')
  return child
}

/** Starts a redis-server; stop it with `kill()` (tests do, in `afterAll`). */
export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort()
  // In the run's temporary folder, unique while the server holds its port; a killed server leaves
  // its socket file behind, removed here (a restart binds it anew).
  const socket = join(tmpdir(), `redis-${port}.sock`)
  let child = await launch(port, socket)
  const kill = async () => {
    child.kill('SIGCONT') // a paused server cannot act on SIGKILL's exit until it runs
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGKILL')
      await exited
    }
    await rm(socket, { force: true })
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    socket,
    kill,
    async restart() {
      await kill()
      child = await launch(port, socket)
    },
    pause: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
  }
}

/**
 * A connected ioredis client that fails at once while the server is down (no offline queue, no
 * retries per request) and reconnects on its own: what the outage tests need.
 */
export async function connectFailFast(url: string): Promise<Redis> {
  const client = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => 50 })
  client.on('error', () => undefined)
  await new Promise((resolve) => client.once('ready', resolve))
  return client
}
