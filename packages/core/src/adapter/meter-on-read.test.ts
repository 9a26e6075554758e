import { describe, expect, it } from 'vitest'
import { meterOnRead } from './meter-on-read.js'

const answer = { usage: { input: 10, output: 6 }, text: 'hi' }

/** A metered JSON response, and what it charged: the parsed bodies, and how often it was interrupted. */
function metered() {
  const charged: unknown[] = []
  let interrupted = 0
  const response = meterOnRead(
    Response.json(answer),
    async (parsed) => void charged.push(parsed),
    async () => void interrupted++,
  )
  return { response, charged, interrupted: () => interrupted }
}

/** Every property a Response has, getters included (`body`, `bodyUsed`, `headers`, …), as a reader might look at them. */
function propertiesOf(response: Response): string[] {
  const names = new Set<string>(Object.keys(response))
  for (let proto = Object.getPrototypeOf(response); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) if (name !== 'constructor') names.add(name)
  }
  return [...names]
}

describe('meterOnRead', () => {
  it('charges once, from the parsed body, whichever way it is read', async () => {
    for (const read of ['json', 'text', 'arrayBuffer', 'blob', 'bytes', 'body'] as const) {
      const { response, charged } = metered()
      if (read === 'body') {
        const reader = response.body!.getReader()
        while (!(await reader.read()).done);
      } else await response[read]()
      expect(charged, read).toEqual([answer])
    }
  })

  it('lets any property be looked at without consuming or locking the body (the SDK reads `body?.locked` before `json()`)', async () => {
    const { response, charged, interrupted } = metered()
    for (const name of propertiesOf(response)) {
      const value = (response as unknown as Record<string, unknown>)[name]
      if (value instanceof ReadableStream) expect(value.locked, name).toBe(false)
    }
    expect(response.bodyUsed).toBe(false)
    expect(response.body?.locked).toBe(false)
    expect(await response.json()).toEqual(answer)
    expect(charged).toEqual([answer])
    expect(interrupted()).toBe(0)
  })

  it('charges as interrupted when the body stream is cancelled', async () => {
    const { response, charged, interrupted } = metered()
    await response.body!.cancel()
    expect(charged).toEqual([])
    expect(interrupted()).toBe(1)
  })
})
