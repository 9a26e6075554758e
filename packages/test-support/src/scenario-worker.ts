import type { ChildProcess } from 'node:child_process'

/** One scenario sent to a worker: prepared (`ready`), started with `go()`, answered with `result`. */
export interface ScenarioRun<T> {
  readonly ready: Promise<void>
  go(): void
  readonly result: Promise<T>
  /** The events the run emitted so far (e.g. `reserved <leaseId>`), in order. */
  readonly events: readonly string[]
}

/** An app process serving scenarios (`serve-scenarios.mjs`) for the tests of one file. */
export interface ScenarioWorker {
  readonly child: ChildProcess
  start<T>(scenario: object): ScenarioRun<T>
  /** Its exit code once it has exited (null when a signal ended it). */
  readonly exited: Promise<number | null>
  /** What it wrote to stderr so far, when spawned with its stderr piped. */
  stderr(): string
  /** Ends its stdin (no more scenarios) and resolves with its exit code once it has exited. */
  stop(): Promise<number | null>
}

interface Pending {
  readonly events: string[]
  readonly ready: () => void
  readonly resolve: (result: unknown) => void
  readonly reject: (error: Error) => void
}

let runs = 0

/** `Promise.withResolvers` (ES2024, beyond the lib this repository compiles against). */
function deferred<T>() {
  let resolve!: (value: T) => void
  let reject!: (error: Error) => void
  const promise = new Promise<T>((ok, fail) => {
    resolve = ok
    reject = fail
  })
  return { promise, resolve, reject }
}

/**
 * Wraps a spawned worker (`stdio: ['pipe', 'pipe', …]`) whose script calls `serveScenarios`. A run
 * the worker cannot answer (it exited, was killed) rejects.
 */
export function scenarioWorker(child: ChildProcess): ScenarioWorker {
  const pending = new Map<string, Pending>()
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => {
      for (const run of pending.values()) run.reject(new Error(`the worker exited (code ${code}, signal ${signal}) before answering${stderr && `: ${stderr}`}`))
      pending.clear()
      resolve(code)
    }),
  )
  child.stdin!.on('error', () => undefined) // a write after the worker died: its runs reject on exit
  let buffered = ''
  child.stdout!.on('data', (chunk: Buffer) => {
    const lines = (buffered + chunk.toString()).split('\n')
    buffered = lines.pop()!
    for (const line of lines) {
      const { id, ready, event, result, error } = JSON.parse(line) as { id: string; ready?: true; event?: string; result?: unknown; error?: string }
      const run = pending.get(id)
      if (!run) continue
      if (ready) run.ready()
      else if (event !== undefined) run.events.push(event)
      else {
        pending.delete(id)
        if (error === undefined) run.resolve(result)
        else run.reject(new Error(`the worker's run failed: ${error}`))
      }
    }
  })
  return {
    child,
    exited,
    stderr: () => stderr,
    start<T>(scenario: object): ScenarioRun<T> {
      const id = String(++runs)
      const ready = deferred<void>()
      const result = deferred<T>()
      const fail = (error: Error) => {
        ready.reject(error)
        result.reject(error)
      }
      pending.set(id, { events: [], ready: ready.resolve, resolve: result.resolve as (value: unknown) => void, reject: fail })
      // Awaited by the test, or not (a killed worker's run): never an unhandled rejection.
      ready.promise.catch(() => undefined)
      result.promise.catch(() => undefined)
      child.stdin!.write(`${JSON.stringify({ id, scenario })}\n`)
      return {
        ready: ready.promise,
        result: result.promise,
        events: pending.get(id)!.events,
        go: () => void child.stdin!.write(`${JSON.stringify({ id, go: true })}\n`),
      }
    },
    stop() {
      child.stdin!.end()
      return exited
    },
  }
}

/** Runs one scenario on each worker, all started together once every one is ready; their results, in order. */
export async function runTogether<T>(workers: readonly ScenarioWorker[], scenarios: readonly object[]): Promise<T[]> {
  const runs = scenarios.map((scenario, index) => workers[index]!.start<T>(scenario))
  await Promise.all(runs.map((run) => run.ready))
  for (const run of runs) run.go()
  return Promise.all(runs.map((run) => run.result))
}
