import { describe, expect, it } from 'vitest'
import { tokenquotaInProcess } from './testing/in-process.js'

// An empty identifier names no caller: `--user ''` (a script's unset variable) was answered "no
// policy counts user : the policies count by user, …", or "nothing to reset: user  has used nothing".

const store = ['--redis-url', 'redis://127.0.0.1:1', '--config', 'unused.yaml']

describe('an empty identifier', () => {
  it.each([
    [['status', '--user', ''], '--user'],
    [['reset', '--user', '', '--org', 'acme'], '--user'],
    [['status', '--context', 'tier='], '--context tier'],
    [['credits', 'add', '--org', '', '--amount', '5', '--key', 'evt_1'], '--org'],
  ])('is refused, naming its flag, before anything is read or written: %j', async (args, flag) => {
    expect(await tokenquotaInProcess([...args, ...store])).toEqual({
      code: 2,
      stdout: '',
      stderr: `tokenquota: expected ${flag} to be an identifier, got "" (nothing was read or changed)\n`,
    })
  })
})
