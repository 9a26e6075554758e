// In-memory reserve + commit vs rate-limiter-flexible's RateLimiterMemory, over 1,000 keys, in
// the same process run, interleaved: one `consume(key, points)`, and the same job as a 3-policy
// cycle (three limiters: `consume` the estimate on each, then `reward` the unused part).
//   npm run build && node bench/memory-throughput.ts
import { createTokenQuota, type QuotaPolicy } from '@tokenquota/core'
import { RateLimiterMemory } from 'rate-limiter-flexible'

const operations = 200_000
const rounds = 7
const keys = 1000

const onePolicy: QuotaPolicy[] = [{ name: 'user-day', identifier: 'user', allow: 1e12, interval: 1, timeUnit: 'day' }]
const threePolicies: QuotaPolicy[] = [
  { name: 'org-month', identifier: 'org', allow: 1e12, interval: 1, timeUnit: 'month' },
  { name: 'project-day', identifier: 'project', allow: 1e12, interval: 1, timeUnit: 'day' },
  { name: 'user-minute', type: 'rollingwindow', identifier: 'user', allow: 1e12, interval: 1, timeUnit: 'minute' },
]
const users = Array.from({ length: keys }, (_, index) => `user-${index}`)
const contexts = users.map((user, index) => ({ user, project: `project-${index % 10}`, org: 'acme' }))

async function measure(operation: (index: number) => Promise<unknown>): Promise<number> {
  const started = performance.now()
  for (let index = 0; index < operations; index += 1) await operation(index)
  return operations / ((performance.now() - started) / 1000)
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

const one = createTokenQuota({ policies: onePolicy })
const three = createTokenQuota({ policies: threePolicies })
const limiter = new RateLimiterMemory({ points: 1e12, duration: 86_400 })
const [orgs, projects, perUser] = [86_400, 86_400, 60].map((duration) => new RateLimiterMemory({ points: 1e12, duration }))
/** What a 3-policy reserve + commit does, built from rate-limiter-flexible: hold the estimate everywhere, give back the rest. */
async function sameJob(index: number): Promise<void> {
  const { user, project, org } = contexts[index % keys]!
  await Promise.all([orgs!.consume(org, 1200), projects!.consume(project, 1200), perUser!.consume(user, 1200)])
  await Promise.all([orgs!.reward(org, 50), projects!.reward(project, 50), perUser!.reward(user, 50)])
}
const candidates = {
  'tokenquota, 1 policy': async (index: number) => (await one.reserve(contexts[index % keys], { estimate: 1200 })).commit({ input: 900, output: 250 }),
  'tokenquota, 3 policies': async (index: number) => (await three.reserve(contexts[index % keys], { estimate: 1200 })).commit({ input: 900, output: 250 }),
  'rate-limiter-flexible': (index: number) => limiter.consume(users[index % keys]!, 1150),
  'rlf same job, 3 limiters': sameJob,
}
const results: Record<string, number[]> = {}
for (let round = 0; round <= rounds; round += 1) {
  for (const [name, operation] of Object.entries(candidates)) {
    const opsPerSecond = await measure(operation)
    if (round > 0) {
      results[name] ??= []
      results[name].push(opsPerSecond)
    }
  }
}
const peer = median(results['rate-limiter-flexible']!)
const sameJobPeer = median(results['rlf same job, 3 limiters']!)
console.log(`node ${process.version}, ${operations} ops × ${rounds} rounds, ${keys} keys, medians; ratios to one consume(), then to the same job`)
for (const [name, values] of Object.entries(results))
  console.log(
    `${name.padEnd(26)} ${median(values).toFixed(0).padStart(8)} ops/s  ${(median(values) / peer).toFixed(2)}×  ${(median(values) / sameJobPeer).toFixed(2)}×`,
  )
