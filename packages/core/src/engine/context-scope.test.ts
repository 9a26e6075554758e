import { describe, expect, it, vi } from 'vitest'

// A runtime without AsyncLocalStorage: a bundle maps `node:async_hooks` to a module without it.
vi.mock('node:async_hooks', () => ({ AsyncLocalStorage: undefined }))

describe('an engine on a runtime without AsyncLocalStorage', () => {
  it('loads and works with explicit contexts; withContext() says what to do instead', async () => {
    const { createTokenQuota, QuotaConfigError } = await import('../index.js')
    const quota = createTokenQuota({ policies: [{ name: 'user-daily', identifier: 'user', allow: 100, interval: 1, timeUnit: 'day' }] })
    await (await quota.reserve({ user: 'alice' }, { estimate: 10 })).commit({ input: 3, output: 4 })
    expect((await quota.status({ user: 'alice' }))[0]).toMatchObject({ used: 7 })
    expect(quota.currentContext()).toBeUndefined()
    expect(() => quota.withContext({ user: 'alice' }, () => 1)).toThrow(QuotaConfigError)
    expect(() => quota.withContext({ user: 'alice' }, () => 1)).toThrow(/pass the context explicitly/)
  })
})
