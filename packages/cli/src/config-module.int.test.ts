import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it, type TestContext } from 'vitest'
import { createTokenQuota, type PolicyInspection, type QuotaPolicy } from '@tokenquota/core'
import { RedisStore } from '@tokenquota/core/redis'
import { temporaryFolder } from '@tokenquota/test-support'
import { spend, tokenquota, tokenquotaInProcess, useRedisServer } from './testing/harness.js'

const redis = useRedisServer()

// An app's policies written in code, as every quickstart does: TypeScript with types the CLI's Node strips.
const typescriptModule = `import type { QuotaPolicy } from '@tokenquota/core'

const perPlan: Record<string, number> = { premium: 50_000, standard: 10_000 }

export const policies: QuotaPolicy[] = [
  { name: 'user-daily', identifier: 'user', allow: { class: 'plan', counts: perPlan }, interval: 1, timeUnit: 'day' },
  { name: 'org-daily', identifier: 'org', allow: 200_000 as number, interval: 1, timeUnit: 'day' },
]
`
// The whole createTokenQuota options as a default export (a store the CLI does not use included).
const optionsModule = `export default {
  policies: [{ name: 'user-hourly', identifier: 'user', allow: 5000, interval: 1, timeUnit: 'hour' }],
  commitMode: 'await',
  store: { note: 'the app connects its own store; the CLI uses --redis-url' },
}
`

/** `text` in a file of a folder removed when `test` (side by side with others: its own context) ends. */
async function moduleFile(name: string, text: string, test: TestContext): Promise<string> {
  const path = join(await temporaryFolder('tokenquota-cli-module-', test), name)
  await writeFile(path, text)
  return path
}

let prefixes = 0
/** An app counting in Redis on the module's own policies (imported, as the app imports them). */
async function appOn(path: string) {
  const exported = (await import(pathToFileURL(path).href)) as { policies?: QuotaPolicy[]; default?: { policies: QuotaPolicy[] } }
  const policies = exported.policies ?? exported.default!.policies
  const prefix = `module${++prefixes}-${process.pid}`
  const quota = createTokenQuota({ policies, store: new RedisStore({ client: redis.client, prefix }), commitMode: 'await' })
  return { quota, flags: ['--config', path, '--redis-url', redis.server.url, '--prefix', prefix] }
}

// A module runs through the bin where Node's own loader is the case (in-process, Vitest's would load
// it, which also transforms what Node refuses): an .mjs that loads (the handle test), errors only Node
// raises, a module that never finishes loading. A .ts module that loads goes through Node's type
// stripping in the README's `status --config quota-policies.ts` (cli.int.test.ts). The other commands
// run in-process: how a command uses the policies it loaded does not depend on the loader. Each test
// has its own module and key prefix, and they run side by side.
describe('--config takes a JS/TS module that exports the policies', { timeout: 60_000, concurrent: true }, () => {
  it('a .ts module exporting `policies`: status reads and grant changes what the app counts', async (context) => {
    const path = await moduleFile('quota-policies.ts', typescriptModule, context)
    const { quota, flags } = await appOn(path)
    const alice = { user: 'alice', plan: 'standard', org: 'acme' }
    await spend(quota, alice, 900, 100)

    const status = await tokenquotaInProcess(['status', '--user', 'alice', '--plan', 'standard', '--json', ...flags])
    expect(status.code, status.stderr).toBe(0)
    expect((JSON.parse(status.stdout) as PolicyInspection[]).find((row) => row.policy === 'user-daily')).toMatchObject({ used: 1000, allowed: 10_000 })

    const granted = await tokenquotaInProcess([
      'grant',
      '--user',
      'alice',
      '--plan',
      'standard',
      '--policy',
      'user-daily',
      '--add',
      '500',
      '--until',
      '1d',
      ...flags,
    ])
    expect(granted.code, granted.stderr).toBe(0)
    expect((await quota.admin.inspect(alice)).find((row) => row.policy === 'user-daily')).toMatchObject({ allowed: 10_500 })

    const checked = await tokenquotaInProcess(['check', path])
    expect(checked.code, checked.stderr).toBe(0)
    expect(checked.stdout).toMatch(/user-daily\s+user\s+premium: 50,000, standard: 10,000/)
  })

  it('an .mjs module whose default export is the createTokenQuota options', async (context) => {
    const path = await moduleFile('quota.mjs', optionsModule, context)
    const { quota, flags } = await appOn(path)
    await spend(quota, { user: 'bob' }, 300, 100)
    // In-process: the next test's bin loads the same options, from an .mjs, with Node's loader.
    const status = await tokenquotaInProcess(['status', '--user', 'bob', '--json', ...flags])
    expect(status.code, status.stderr).toBe(0)
    expect(JSON.parse(status.stdout)).toMatchObject([{ policy: 'user-hourly', used: 400, allowed: 5000 }])
  })

  it('a module that opens a handle at import (as an app module making its client would) does not keep the CLI running', async (context) => {
    const path = await moduleFile('app.mjs', `setInterval(() => undefined, 1000)\n${optionsModule}`, context)
    const { quota, flags } = await appOn(path)
    await spend(quota, { user: 'erin' }, 30, 10)
    const status = await tokenquota(['status', '--user', 'erin', '--json', ...flags], {}, undefined, 20_000)
    expect(status.code, status.stderr).toBe(0)
    expect(JSON.parse(status.stdout)).toMatchObject([{ policy: 'user-hourly', used: 40 }])
    const unknown = await tokenquota(['status', '--user', 'nobody', ...flags], {}, undefined, 20_000)
    expect([unknown.code, unknown.stderr]).toEqual([2, expect.stringMatching(/^tokenquota: unknown identifier: user nobody/)])
  })

  it('a module whose top-level await never settles (a connection that never opens): exit 1 once --timeout passes, one line naming it', async (context) => {
    const path = await moduleFile('stalled.mjs', `await new Promise(() => undefined)\n${optionsModule}`, context)
    // The store's connection alone keeps the process alive: without a bound on the load, it waits forever (killed here).
    const outcome = await tokenquota(['status', '--user', 'alice', '--config', path, '--redis-url', redis.server.url, '--timeout', '1'], {}, undefined, 15_000)
    expect([outcome.code, outcome.stderr.split('\n').length], outcome.stderr).toEqual([1, 2])
    expect(outcome.stderr).toMatch(/^tokenquota: cannot load .*stalled\.mjs: it did not finish loading within 1 s; check what it awaits at its top level/)
  })

  it.for([
    ['exports.mjs', 'export const limit = 5\n', /^tokenquota: invalid config: .*exports\.mjs" as the policies: it exports no policies: export default/],
    ['two.mjs', 'export const a = []\nexport const b = []\n', /it exports several policy sets \(a, b\): export the app's as default or as policies\n$/],
    [
      'quota.mjs',
      `import { createTokenQuota } from ${JSON.stringify(new URL('../../core/dist/index.js', import.meta.url).href)}\nexport const quota = createTokenQuota({ policies: [{ name: 'd', identifier: 'user', allow: 5, interval: 1, timeUnit: 'day' }] })\n`,
      /it exports a TokenQuota \(quota\), whose policies are already built: export the policies or the createTokenQuota options it is made from\n$/,
    ],
    ['throws.mjs', "throw new Error('boom at import')\n", /^tokenquota: cannot load .*throws\.mjs: boom at import\n$/],
    ['enum.ts', 'enum Plan { Free }\nexport const policies = []\n', /^tokenquota: cannot load .*enum\.ts: Node strips types but does not transform TypeScript/],
    [
      'invalid.mjs',
      "export const policies = [{ name: 'user-daily', identifier: 'user', allow: -5, interval: 1, timeUnit: 'day' }]\n",
      /^tokenquota: invalid config: policy "user-daily".*allow/,
    ],
    ['missing.ts', undefined, /^tokenquota: invalid config: .*missing\.ts" as the policies: no such file\n$/],
  ] as const)('%s: exits 2 with one line saying why', async ([name, text, stderr], context) => {
    const folder = await temporaryFolder('tokenquota-cli-module-', context)
    if (text !== undefined) await writeFile(join(folder, name), text)
    // Where Node's loader is the case, the bin loads the module: throws.mjs throws as Node evaluates
    // it; Node refuses enum.ts's enum, which Vitest's loader would transform (both of its runs). The
    // others load alike in any loader, and the CLI judges what they export: in-process.
    const check = name === 'throws.mjs' || name === 'enum.ts' ? tokenquota : tokenquotaInProcess
    const status = name === 'enum.ts' ? tokenquota : tokenquotaInProcess
    const outcomes = await Promise.all([
      check(['check', join(folder, name)]),
      status(['status', '--user', 'alice', '--config', join(folder, name), '--redis-url', redis.server.url]),
    ])
    for (const outcome of outcomes) {
      expect([outcome.code, outcome.stderr.split('\n').length], outcome.stderr).toEqual([2, 2])
      expect(outcome.stderr).toMatch(stderr)
    }
  })

  it('a Node that cannot strip types says so and how to fix it, exit 2', async (context) => {
    const path = await moduleFile('quota-policies.ts', typescriptModule, context)
    const outcome = await tokenquota(['check', path], { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --no-experimental-strip-types` })
    expect(outcome.code).toBe(2)
    expect(outcome.stderr).toMatch(/^tokenquota: cannot load .*quota-policies\.ts: this Node \(v[\d.]+\) does not run TypeScript; use Node 22\.18\+ or 23\.6\+/)
  })
})
