import { readFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('..', import.meta.url))
const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]))
/** The one Node built-in edge runtimes provide (Workers with nodejs_compat, Vercel's edge runtime). */
const allowed = new Set(['async_hooks'])

/** Node-only globals, not as part of a longer name (`ArrayBuffer.`, esbuild's `__require(`). */
const nodeGlobals = [
  ['Buffer', /(?<![\w$])Buffer\./],
  ['process.env', /(?<![\w$])process\.env/],
  ['require', /(?<![\w$.])require\(/],
] as const

/** Every module an ESM file of a built package loads, its own chunks followed. */
function importsOf(entry: string): { builtins: Set<string>; nodeGlobals: Set<string> } {
  const seen = new Set<string>()
  const found = { builtins: new Set<string>(), nodeGlobals: new Set<string>() }
  const visit = (file: string) => {
    if (seen.has(file)) return
    seen.add(file)
    const source = readFileSync(file, 'utf8')
    for (const [, specifier] of source.matchAll(/(?:from|import)\s*\(?\s*["']([^"']+)["']/g)) {
      if (specifier!.startsWith('.')) visit(join(dirname(file), specifier!))
      else if (builtins.has(specifier!)) found.builtins.add(specifier!.replace(/^node:/, ''))
    }
    for (const [name, pattern] of nodeGlobals) if (pattern.test(source)) found.nodeGlobals.add(name)
  }
  visit(join(root, entry))
  return found
}

describe('entries documented as edge-ready load no Node built-in but node:async_hooks', () => {
  it.each(['packages/core/dist/index.js', 'packages/core/dist/upstash.js', 'packages/core/dist/adapter/index.js', 'packages/core/dist/store/index.js'])(
    '%s',
    (entry) => {
      const { builtins: used, nodeGlobals } = importsOf(entry)
      expect([...used].filter((name) => !allowed.has(name))).toEqual([])
      expect([...nodeGlobals]).toEqual([])
    },
  )

  it('sees a Node built-in where there is one (the check can fail)', () => {
    expect([...importsOf('packages/core/dist/config/index.js').builtins]).toContain('fs/promises')
  })
})
