// One app process for the multi-process tests, serving their scenarios (`serveScenarios`). In each
// (but mode 'exit': exiting-run.mjs), `concurrency` parallel callers for one user, each reserving, "calling the model", committing a
// real usage below the reservation, and retrying after a refusal until refusals keep coming, on
// keys of the scenario's own (`prefix`). Uses the built package, as an app would.
// count 'usd': the policy counts US dollars (`allow` in dollars) on gpt-4o calls, and `committed` is
// the provider usage priced by the table itself.
import { createTokenQuota, TokenQuotaExceededError } from '@tokenquota/core'
import { RedisStore } from '@tokenquota/core/redis'
import { Redis } from 'ioredis'
import { serveScenarios } from '../serve-scenarios.mjs'
import { prepareExiting } from './exiting-run.mjs'

const { REDIS_URL } = process.env

/** One call: its reservation and the usage the provider reports (below it), and what that usage is worth in the policy's unit. */
function nextCall(calcPrice) {
  if (!calcPrice) {
    const total = 60 + Math.floor(Math.random() * 41)
    return { estimate: 100, usage: { total }, worth: total }
  }
  const usage = { input: 60 + Math.floor(Math.random() * 41), output: 20 + Math.floor(Math.random() * 31) }
  const worth = calcPrice({ input_tokens: usage.input, output_tokens: usage.output }, 'gpt-4o').total_price
  return { estimate: { input: 100, output: 50 }, model: 'gpt-4o', usage, worth }
}

async function prepare(scenario, emit) {
  const client = new Redis(REDIS_URL)
  await client.ping()
  return scenario.mode === 'exit' ? prepareExiting(client, scenario, emit) : prepareCallers(client, scenario)
}

async function prepareCallers(client, { prefix, concurrency, allow, count }) {
  // The price table is loaded only by a scenario that prices (it is a large module to start).
  const { calcPrice } = count === 'usd' ? await import('@pydantic/genai-prices') : {}
  const quota = createTokenQuota({
    policies: [{ name: 'user-daily', identifier: 'user', allow, interval: 1, timeUnit: 'day', ...(calcPrice && { count: 'usd' }) }],
    // Several processes hammer one redis-server, beside the runs of other tests: a reply may take over
    // the default second on a busy machine. The test asserts what is charged, not how fast.
    store: new RedisStore({ client, prefix, timeoutMs: 10_000 }),
  })
  let committed = 0
  let calls = 0

  /**
   * A caller gives up after 5 refusals in a row, 10–30 ms apart: over 100 ms in which every other
   * caller's commit lands (written in the background) and frees what it did not use. 10 tries 5–15
   * ms apart waited as long and made twice the refused calls (160 callers × 10: 1,600 a run).
   */
  async function caller() {
    let refusals = 0
    while (refusals < 5) {
      const { estimate, model, usage, worth } = nextCall(calcPrice)
      try {
        const lease = await quota.reserve({ user: 'alice' }, { estimate, model })
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5))
        await lease.commit(usage)
        committed += worth
        calls += 1
        refusals = 0
      } catch (error) {
        if (!TokenQuotaExceededError.isInstance(error)) throw error
        refusals += 1
        await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 20))
      }
    }
  }

  return async () => {
    await Promise.all(Array.from({ length: concurrency }, caller))
    await quota.flush() // commits are written in the background: every one lands before the connection closes
    client.disconnect()
    return { committed, calls }
  }
}

await serveScenarios(prepare)
