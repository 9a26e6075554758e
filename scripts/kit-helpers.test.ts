import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { isObject, type Json, positiveInteger } from '@tokenquota/core/adapter'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('..', import.meta.url))
const home = 'packages/core/src/shared/json.ts'

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return entry.name === 'node_modules' || entry.name === 'dist' ? [] : sources(path)
    return /\.ts$/.test(entry.name) && !/\.test(-d)?\.ts$/.test(entry.name) ? [path] : []
  })
}

describe('the adapter kit owns the small shared helpers', () => {
  it('no package source declares its own isObject, positiveInteger or Json type', () => {
    const copies = readdirSync(join(root, 'packages'))
      .flatMap((name) => sources(join(root, 'packages', name, 'src')))
      .filter((path) => relative(root, path) !== home)
      .flatMap((path) =>
        readFileSync(path, 'utf8')
          .split('\n')
          .filter((line) => /^\s*(export )?(function isObject\(|function positiveInteger\(|type Json =)/.test(line))
          .map((line) => `${relative(root, path)}: ${line.trim()}`),
      )
    expect(copies).toEqual([])
  })

  it('isObject accepts plain objects only', () => {
    const value: unknown = { a: 1 }
    expect(isObject(value) && (value satisfies Json).a).toBe(1)
    for (const other of [null, undefined, [], 'x', 3]) expect(isObject(other)).toBe(false)
  })

  it('positiveInteger keeps integers above zero and drops everything else', () => {
    expect(positiveInteger(3)).toBe(3)
    for (const other of [0, -1, 1.5, '3', Number.NaN, Number.POSITIVE_INFINITY, undefined]) expect(positiveInteger(other)).toBeUndefined()
  })
})
