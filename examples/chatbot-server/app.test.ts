import type { AddressInfo } from 'node:net'
import { serve, type ServerType } from '@hono/node-server'
import { createTokenQuota, priceTable, StoreUnavailableError, type TokenQuota } from '@tokenquota/core'
import type { QuotaStore } from '@tokenquota/core/store'
import { withTokenQuota } from '@tokenquota/openai'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
// @ts-expect-error: plain ES modules without types
import { startLocalOpenAI } from '../openai-chat/local-openai-server.mjs'
// @ts-expect-error: plain ES modules without types
import { createApp } from './app.mjs'
// @ts-expect-error: plain ES modules without types
import { issueToken, tokenSecret } from './tokens.mjs'

// Real HTTP all the way: a client → the chat API → the real openai client → a local endpoint.
const secret = 'test-secret'
let endpoint: { baseURL: string; close(): Promise<void> }
let server: ServerType
let url: string
let quota: TokenQuota

beforeAll(async () => {
  endpoint = await startLocalOpenAI()
  quota = createTokenQuota({
    policies: [
      { name: 'user-daily', identifier: 'user', allow: { class: 'plan', counts: { pro: 50_000, free: 700 } }, interval: 1, timeUnit: 'day' },
      // A money budget beside the token one: its dollars are never compared with tokens.
      { name: 'service-daily-usd', count: 'usd', allow: 50, interval: 1, timeUnit: 'day' },
    ],
    prices: [priceTable({ '*': { input: 2.5, output: 10 } })],
  })
  const client = withTokenQuota(new OpenAI({ apiKey: 'local', baseURL: endpoint.baseURL, maxRetries: 0 }), { quota })
  await new Promise<void>((resolve) => {
    server = serve({ fetch: createApp({ quota, client, secret }).fetch, port: 0, hostname: '127.0.0.1' }, () => resolve())
  })
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve))
  await endpoint.close()
})

const chat = (token: string | undefined, body: object, headers: Record<string, string> = {}) =>
  fetch(`${url}/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }), ...headers },
    body: JSON.stringify(body),
  })
const hello = { messages: [{ role: 'user', content: 'Hello!' }] }

describe('chat API', () => {
  it('refuses requests without a valid token, whatever headers the client sets', async () => {
    expect((await chat(undefined, hello, { 'x-user-id': 'alice' })).status).toBe(401)
    const forged = issueToken('another-secret', { sub: 'alice', plan: 'pro' })
    expect((await chat(forged, hello)).status).toBe(401)
    const expired = issueToken(secret, { sub: 'alice', plan: 'pro' }, { ttlSeconds: -1 })
    expect((await chat(expired, hello)).status).toBe(401)
    const tampered = issueToken(secret, { sub: 'alice', plan: 'free' }).replace(
      /^[^.]+/,
      Buffer.from(JSON.stringify({ sub: 'alice', plan: 'pro', exp: 9e9 })).toString('base64url'),
    )
    expect((await chat(tampered, hello)).status).toBe(401)
  })

  it('answers and charges the user of the token, with rate-limit headers', async () => {
    const token = issueToken(secret, { sub: 'paula', plan: 'pro' })
    const response = await chat(token, hello, { 'x-user-id': 'someone-else' })
    expect(response.status).toBe(200)
    const body = (await response.json()) as { reply: string; usage: { total_tokens: number } }
    expect(body.reply.length).toBeGreaterThan(0)
    expect(response.headers.get('x-ratelimit-limit-tokens')).toBe('50000')
    expect(Number(response.headers.get('x-ratelimit-remaining-tokens'))).toBe(50_000 - body.usage.total_tokens)
    expect(response.headers.get('x-ratelimit-limit-usd')).toBe('50')
    expect(Number(response.headers.get('x-ratelimit-remaining-usd'))).toBeLessThan(50)
    expect(response.headers.get('ratelimit-policy')).toBe('"user-daily";q=50000;w=86400;qu="tokens"')
    expect(response.headers.get('ratelimit')).toMatch(new RegExp(`^"user-daily";r=${50_000 - body.usage.total_tokens};t=\\d+$`))
    expect(await quota.status({ user: 'paula', plan: 'pro' })).toMatchObject([{ used: body.usage.total_tokens }, { name: 'service-daily-usd' }])
    expect(await quota.status({ user: 'someone-else', plan: 'pro' })).toMatchObject([{ used: 0 }, { name: 'service-daily-usd' }])
  })

  it('streams as server-sent events', async () => {
    const token = issueToken(secret, { sub: 'sam', plan: 'pro' })
    const response = await chat(token, { ...hello, stream: true })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toContain('text/event-stream')
    expect(response.headers.get('x-ratelimit-limit-tokens')).toBe('50000')
    const text = await response.text()
    expect(text).toContain('data: {"delta":')
    expect(text).toContain('event: done')
    expect((await quota.status({ user: 'sam', plan: 'pro' }))[0]!.used).toBeGreaterThan(0)
  })

  it('answers 429 with Retry-After and x-ratelimit headers once the budget is spent, streamed requests included', async () => {
    const token = issueToken(secret, { sub: 'frank', plan: 'free' })
    let response: Response = await chat(token, hello)
    for (let call = 0; call < 60 && response.status === 200; call += 1) response = await chat(token, hello)
    expect(response.status).toBe(429)
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(response.headers.get('x-ratelimit-limit-tokens')).toBe('700')
    expect(Number(response.headers.get('x-ratelimit-remaining-tokens'))).toBeLessThan(300)
    expect(response.headers.get('x-ratelimit-reset-tokens')).toMatch(/^\d+s$/)
    expect(await response.json()).toMatchObject({ error: { type: 'tokens', code: 'TokenQuotaExceeded', policy: 'user-daily' } })

    const streamed = await chat(token, { ...hello, stream: true })
    expect(streamed.status).toBe(429)
    expect(streamed.headers.get('content-type')).toContain('application/json')
    expect(Number(streamed.headers.get('retry-after'))).toBeGreaterThan(0)
  })

  it('reports the caller’s usage, and rejects malformed requests', async () => {
    const token = issueToken(secret, { sub: 'paula', plan: 'pro' })
    const usage = (await (await fetch(`${url}/usage`, { headers: { authorization: `Bearer ${token}` } })).json()) as { usage: Array<{ identifier: string }> }
    expect(usage.usage).toMatchObject([
      { name: 'user-daily', identifier: 'paula', class: 'pro' },
      { name: 'service-daily-usd', unit: 'usd' },
    ])
    expect((await chat(token, { messages: 'hi' })).status).toBe(400)
  })
})

describe('errors and limits', () => {
  const token = issueToken(secret, { sub: 'paula', plan: 'pro' })
  const post = (app: { request(path: string, init: RequestInit): Promise<Response> }, body: string) =>
    app.request('/chat', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body })
  const appWith = (quotaOptions: Parameters<typeof createTokenQuota>[0]) => {
    const failing = createTokenQuota(quotaOptions)
    const client = withTokenQuota(new OpenAI({ apiKey: 'local', baseURL: endpoint.baseURL, maxRetries: 0 }), { quota: failing })
    return createApp({ quota: failing, client, secret })
  }

  it('answers 503 when the quota store is down and 400 when a policy cannot read the request, never 500', async () => {
    const down = new StoreUnavailableError({ message: 'Redis did not answer within 1000 ms' })
    const store: QuotaStore = {
      reserve: () => Promise.reject(down),
      settle: () => Promise.reject(down),
      extend: () => Promise.reject(down),
      read: () => Promise.reject(down),
    }
    const storeDown = await post(
      appWith({ store, policies: [{ name: 'user-daily', identifier: 'user', allow: 1000, interval: 1, timeUnit: 'day' }] }),
      JSON.stringify(hello),
    )
    expect(storeDown.status).toBe(503)
    expect(storeDown.headers.get('retry-after')).toBe('1')
    const unreadable = () => {
      throw new Error('no plan table for this user')
    }
    expect(
      (await post(appWith({ policies: [{ name: 'user-daily', identifier: 'user', allow: unreadable, interval: 1, timeUnit: 'day' }] }), JSON.stringify(hello)))
        .status,
    ).toBe(400)
  })

  it('refuses a request body over the limit before reading it', async () => {
    const response = await chat(issueToken(secret, { sub: 'paula', plan: 'pro' }), { messages: [{ role: 'user', content: 'x'.repeat(100 * 1024) }] })
    expect(response.status).toBe(413)
  })

  it('refuses to start in production without TOKEN_SECRET, and makes a random one for a local run', () => {
    expect(() => tokenSecret({ NODE_ENV: 'production' }, () => undefined)).toThrow(/TOKEN_SECRET/)
    const said: string[] = []
    const [first, second] = [tokenSecret({}, (line: string) => said.push(line)), tokenSecret({}, () => undefined)]
    expect(first).not.toBe(second)
    expect(first.length).toBeGreaterThanOrEqual(32)
    expect(said[0]).toMatch(/random secret/)
    expect(tokenSecret({ TOKEN_SECRET: 'mine', NODE_ENV: 'production' })).toBe('mine')
  })
})
