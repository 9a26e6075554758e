import { describe, expect, it } from 'vitest'
import { tokenquotaInProcess } from './testing/in-process.js'

// A flag given twice with two values: commander keeps the last one silently, so `credits add --user
// alice … --user bob` credited bob. The refusal comes before any connection: no store is needed.

const store = ['--redis-url', 'redis://127.0.0.1:1', '--config', 'unused.yaml']

describe('a flag given twice', () => {
  it.each([
    [['credits', 'add', '--user', 'alice', '--user', 'bob', '--amount', '5', '--key', 'evt_1'], '--user'],
    [['credits', 'add', '--user', 'alice', '--amount', '5', '--amount=7', '--key', 'evt_1'], '--amount'],
    [['credits', 'add', '--user', 'alice', '--amount', '5', '--key', 'evt_1', '--key', 'evt_2'], '--key'],
    [['grant', '--user', 'alice', '--add', '500', '--until', '2h', '--until', '7d'], '--until'],
    [['status', '--user', 'alice', '--prefix', 'a', '--prefix', 'b'], '--prefix'],
  ])('with two values is refused, naming it, before anything is read or written: %j', async (args, flag) => {
    expect(await tokenquotaInProcess([...args, ...store])).toEqual({
      code: 2,
      stdout: '',
      stderr: `tokenquota: ${flag} was given twice, with different values: give it once (nothing was read or changed)\n`,
    })
  })

  it.each([
    [
      ['credits', 'add', '--user', 'alice', '--context', 'tier=a', '--context', 'tier=b', '--amount', '5', '--key', 'evt_1'],
      '--context tier=b',
      '--context tier=a',
    ],
    [['credits', 'add', '--user', 'alice', '--context', 'user=bob', '--amount', '5', '--key', 'evt_1'], '--context user=bob', '--user alice'],
    [['status', '--context', 'plan=pro', '--plan', 'free', '--user', 'alice'], '--plan free', '--context plan=pro'],
  ])('one context key given two values (--context, or --context and its flag) is refused before anything is read: %j', async (args, second, first) => {
    expect(await tokenquotaInProcess([...args, ...store])).toEqual({
      code: 2,
      stdout: '',
      stderr: `tokenquota: ${second} contradicts ${first}: give each context key once (nothing was read or changed)\n`,
    })
  })

  it('with the same value twice, or a repeatable flag (--context), is not refused', async () => {
    for (const args of [
      ['status', '--user', 'alice', '--user', 'alice'],
      ['status', '--context', 'user=alice', '--context', 'plan=pro'],
      ['status', '--user', 'alice', '--context', 'user=alice'],
    ]) {
      const { code, stderr } = await tokenquotaInProcess([...args, ...store])
      expect(stderr, args.join(' ')).not.toContain('given twice')
      expect(code, args.join(' ')).not.toBe(0) // the config does not exist
    }
  })
})
