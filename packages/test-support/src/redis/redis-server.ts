import { spawn, type ChildProcess } from 'node:child_process'
import { Redis } from 'ioredis'
import { freePort } from '../free-port.js'

/** A real `redis-server` on a free port, with persistence off. */
export interface RedisServer {
  readonly port: number
  readonly url: string
  /** Stops the server (SIGKILL: the abrupt loss an app must survive). */
  kill(): Promise<void>
  /** Starts it again on the same port, empty. */
  restart(): Promise<void>
  /** Freezes the server (SIGSTOP): connections stay open and nothing answers — a hung Redis. */
  pause(): void
  /** Lets a paused server run again (SIGCONT). */
  resume(): void
}

async function launch(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
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
  let child = await launch(port)
  const kill = async () => {
    child.kill('SIGCONT') // a paused server cannot act on SIGKILL's exit until it runs
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    async restart() {
      await kill()
      child = await launch(port)
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
