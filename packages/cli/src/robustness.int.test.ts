import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createTokenQuota } from '@tokenquota/core'
import { RedisStore } from '@tokenquota/core/redis'
import { connectFailFast, type RedisServer, startRedisServer } from '@tokenquota/test-support/redis'
import { app as appOn, config, spend, tokenquotaInProcess } from './testing/harness.js'

// A hostile trial: a store that stops answering, numbers in odd spellings, identifiers kilobytes long.

let server: RedisServer
let client: Redis

beforeAll(async () => {
  server = await startRedisServer()
  client = await connectFailFast(server.url)
})
afterEach(async () => {
  const unpauser = new Redis(server.url)
  await unpauser.call('client', 'unpause')
  unpauser.disconnect()
})
afterAll(async () => {
  client.disconnect()
  await server.kill()
})

const alice = { user: 'alice', plan: 'premium', project: 'production' }
const caller = ['--user', 'alice', '--plan', 'premium', '--project', 'production']

async function pause(url: string, mode: 'all' | 'write', ms: number): Promise<void> {
  const pauser = new Redis(url)
  await pauser.call('client', 'pause', String(ms), mode)
  pauser.disconnect()
}

describe('a store that does not answer', { timeout: 60_000 }, () => {
  it('status against a paused Redis gives up after --timeout: exit 1, one line on stderr', async () => {
    // A server of its own, killed after: a pause of all clients holds even CLIENT UNPAUSE until it ends.
    const paused = await startRedisServer()
    try {
      await pause(paused.url, 'all', 6000)
      const started = performance.now()
      const run = await tokenquotaInProcess(['status', ...caller, '--timeout', '0.5', '--config', config, '--redis-url', paused.url])
      expect(performance.now() - started).toBeLessThan(5000) // before the pause ends
      expect(run.code).toBe(1)
      expect(run.stderr).toMatch(/^tokenquota: [^\n]*did not answer within 0\.5 s[^\n]*\n$/)
    } finally {
      await paused.kill()
    }
  })

  it('a grant that times out after connecting exits 1 and says it may or may not have been applied, and to re-run with the same key', async () => {
    const { flags } = await appOn(client, server.url)
    await pause(server.url, 'write', 20_000) // INFO answers, the scripts wait
    const run = await tokenquotaInProcess([
      'grant',
      ...caller,
      '--policy',
      'user-daily',
      '--add',
      '5',
      '--idempotency-key',
      'k-7',
      '--timeout',
      '0.5',
      ...flags,
    ])
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/^tokenquota: [^\n]*may or may not have been applied[^\n]*--idempotency-key k-7[^\n]*\n$/)
  })

  it('a refused connection exits 1 too', async () => {
    const run = await tokenquotaInProcess(['status', ...caller, '--redis-url', 'redis://127.0.0.1:1'])
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/^tokenquota: cannot connect to Redis at redis:\/\/127\.0\.0\.1:1: [^\n]*\n$/)
  })

  // Past 2147483.647 s, setTimeout fires at once: `--timeout 3000000` gave up on the store at once,
  // saying it "did not answer within 3000000 s".
  it('--timeout takes seconds from 0.001 to 2147483 (the longest a timer waits)', async () => {
    const { flags } = await appOn(client, server.url)
    for (const text of ['0', '-1', '0x10', 'soon', '0.0001', '2147484', '99999999999999999999999']) {
      expect(await tokenquotaInProcess(['status', ...caller, '--timeout', text, ...flags])).toMatchObject({
        code: 2,
        stderr: `tokenquota: expected --timeout to be a number of seconds from 0.001 to 2147483, got "${text}"\n`,
      })
    }
  })
})

describe('numbers are plain decimals', { timeout: 60_000 }, () => {
  it('grant --add and set --allow refuse hex, padded, exponent and signed spellings, exit 2 naming the flag, and change nothing', async () => {
    const { quota, flags } = await appOn(client, server.url)
    const before = (await quota.admin.inspect(alice)).find((row) => row.policy === 'user-daily')
    for (const [command, flag] of [
      ['grant', '--add'],
      ['set', '--allow'],
    ] as const) {
      for (const text of ['0x10', ' 5', '5 ', '1e3', '-5', '+5', '0b1', '5.', '.5', 'Infinity']) {
        const run = await tokenquotaInProcess([command, ...caller, '--policy', 'user-daily', flag, text, ...flags])
        expect(run, `${command} ${flag} "${text}"`).toMatchObject({
          code: 2,
          stderr: `tokenquota: expected ${flag} to be a non-negative number, got "${text}"\n`,
        })
      }
    }
    expect((await quota.admin.inspect(alice)).find((row) => row.policy === 'user-daily')).toEqual(before)
  })

  it('--top, --interval and --count refuse hex and padded spellings too', async () => {
    const { flags, store } = await appOn(client, server.url)
    expect((await tokenquotaInProcess(['report', '--top', '0x10', ...store])).code).toBe(2)
    expect((await tokenquotaInProcess(['watch', '--top', ' 3', '--count', '1', ...flags])).code).toBe(2)
    expect((await tokenquotaInProcess(['watch', '--interval', '0x10', '--count', '1', ...flags])).code).toBe(2)
    expect((await tokenquotaInProcess(['watch', '--count', '0x1', ...flags])).code).toBe(2)
  })

  it('a grant of a tenth of a cent on a dollar policy shows the change', async () => {
    const prefix = `usd-${process.pid}`
    const policies = [{ name: 'user-usd', identifier: 'user', allow: 5, interval: 1, timeUnit: 'day', count: 'usd' }] as const
    const dir = await mkdtemp(join(tmpdir(), 'tq-usd-'))
    const file = join(dir, 'policies.json')
    await writeFile(file, JSON.stringify({ policies }))
    const quota = createTokenQuota({ policies: [...policies], store: new RedisStore({ client, prefix }) })
    const run = await tokenquotaInProcess([
      'grant',
      '--user',
      'dana',
      '--policy',
      'user-usd',
      '--add',
      '0.001',
      '--config',
      file,
      '--redis-url',
      server.url,
      '--prefix',
      prefix,
    ])
    expect(run.stderr).toBe('')
    expect(run.stdout).toContain('allowed now $5.001 usd')
    expect((await quota.admin.inspect({ user: 'dana' }))[0]).toMatchObject({ allowed: 5.001 })
    await rm(dir, { recursive: true })
  })
})

describe('long identifiers', { timeout: 60_000 }, () => {
  it('report and watch cut a 256-character user id (the longest allowed) to a sane width with an ellipsis; --json keeps it whole', async () => {
    const { quota, tracking, flags, store } = await appOn(client, server.url)
    const long = 'e'.repeat(256)
    await spend(quota, { ...alice, user: long }, 100, 50)
    await tracking.flush()
    for (const run of [await tokenquotaInProcess(['report', '--since', '1d', ...store]), await tokenquotaInProcess(['watch', '--count', '1', ...flags])]) {
      expect(run.code, run.stderr).toBe(0)
      for (const line of run.stdout.split('\n')) expect(line.length).toBeLessThan(200)
      expect(run.stdout).toContain(`${'e'.repeat(39)}…`)
    }
    const json = await tokenquotaInProcess(['report', '--since', '1d', '--json', ...store])
    expect(JSON.parse(json.stdout).consumers[0].name).toBe(long)
  })
})
