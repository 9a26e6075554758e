// The worker side of `scenario-worker.ts`: an app process kept for a whole test file, running each
// scenario a test sends on stdin (several at once, each on its own connections), so that the file's
// tests share a few processes instead of starting their own. Lines are JSON, tagged with the run's id.
import { createInterface } from 'node:readline'

const send = (message) => process.stdout.write(`${JSON.stringify(message)}\n`)

/**
 * `prepare(scenario, emit)` opens what the scenario needs and returns the function that runs it;
 * once prepared the run says `ready` and waits for the test's `go` (every process starts together),
 * then answers its result, or its error. Returns when stdin ends and every run has answered.
 */
export async function serveScenarios(prepare) {
  const gates = new Map()
  const runs = []
  for await (const line of createInterface({ input: process.stdin })) {
    const { id, scenario, go } = JSON.parse(line)
    if (go) gates.get(id)?.()
    else runs.push(serve(id, prepare, scenario, new Promise((resolve) => gates.set(id, resolve))))
  }
  await Promise.all(runs)
}

async function serve(id, prepare, scenario, go) {
  try {
    const run = await prepare(scenario, (event) => send({ id, event }))
    send({ id, ready: true })
    await go
    send({ id, result: await run() })
  } catch (error) {
    send({ id, error: error instanceof Error ? error.stack : String(error) })
  }
}
