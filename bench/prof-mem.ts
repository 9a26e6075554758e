import { createTokenQuota } from '@tokenquota/core'
const one = createTokenQuota({ policies: [{ name: 'user-day', identifier: 'user', allow: 1e12, interval: 1, timeUnit: 'day' }] })
const contexts = Array.from({ length: 1000 }, (_, i) => ({ user: `user-${i}` }))
const t = performance.now()
for (let i = 0; i < 500_000; i++) await (await one.reserve(contexts[i % 1000], { estimate: 1200 })).commit({ input: 900, output: 250 })
console.log((500_000 / ((performance.now() - t) / 1000)).toFixed(0), 'ops/s')
