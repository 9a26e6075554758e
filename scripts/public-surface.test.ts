import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('..', import.meta.url))

/**
 * The one entry point of each name that was once exported from two, and why there: where a
 * user looks for it. Every other name already had one home.
 */
const homes: Record<string, string> = {
  // What an app creates or configures next to `createTokenQuota` (the README imports them from the root).
  MemoryStore: '.',
  MemoryStoreOptions: '.',
  SyncedStore: '.',
  SyncedStoreOptions: '.',
  SentCharge: '.', // SyncedStoreOptions.onSent's argument
  AuditEntry: '.', // what `quota.admin` audits and the `admin` event carries
  ResponseCache: '.', // an app passes `cache: new ResponseCache()` to any adapter
  ResponseCacheOptions: '.',
  FallbackOption: '.', // the `fallback` option of every adapter
  FallbackInfo: '.',
  FallbackAnswer: '.',
  StreamAbortCharge: '.', // the `onStreamAbort` option of every adapter
  // The kit's: an adapter picks its exact tokenizer with it (the OpenAI adapter's exact estimator).
  tokenizerOfModel: './adapter',
  // The protocol a store author implements: the README sends them to /store.
  QuotaStore: './store',
  // The Lua scripts' store over any transport, beside `scripts` and `LuaScript`; /upstash only adds UpstashStore.
  LuaStore: './redis',
  LuaStoreOptions: './redis',
  // Credits: what an app configures and calls (`type: 'balance'` policies, `quota.admin.topUp`, events) at the root;
  // the store side of balances (grants, ledger rows, StoreCredits) with the store protocol; the contract with the others.
  BalanceQuotaPolicy: '.',
  CreditBalance: '.',
  CreditLedgerRow: '.',
  CreditsExpiredEvent: '.',
  StoreCredits: './store',
  LedgerEntry: './store',
  describeStoreCreditsContract: './testing',
}

/** Each subpath of @tokenquota/core with the source file its build starts from. */
function entries(): Map<string, string> {
  const manifest = JSON.parse(readFileSync(join(root, 'packages/core/package.json'), 'utf8')) as {
    exports: Record<string, { import?: { default?: string } } | string>
  }
  const found = new Map<string, string>()
  for (const [subpath, target] of Object.entries(manifest.exports)) {
    const built = typeof target === 'string' ? target : target.import?.default
    if (built?.startsWith('./dist/') !== true || !built.endsWith('.js')) continue
    found.set(subpath, join(root, 'packages/core/src', built.slice('./dist/'.length).replace(/\.js$/, '.ts')))
  }
  return found
}

/** Whether `source` has `export * from '<specifier>'` (or `export * as name from`). */
function reexportsAll(source: string, specifier: string): boolean {
  return source.split(/;|\n/).some((statement) => /^\s*export\s+\*/.test(statement) && statement.includes(`from '${specifier}'`))
}

/** Per exported name, the entry points that export it. */
function exportersByName(): Map<string, string[]> {
  const files = entries()
  // Which names a module exports does not depend on the global types: no lib, no @types.
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    noLib: true,
    types: [],
    skipLibCheck: true,
    noEmit: true,
  }
  // Nor on the modules an entry imports or re-exports by name (`export { X } from './x.js'` names X
  // unread): only a module that `export *` re-exports can add names, so only those are read (the
  // whole source tree and its dependencies' types cost ~2 CPU-s to parse and bind).
  const host = ts.createCompilerHost(options)
  host.resolveModuleNames = (names, containingFile) =>
    names.map((name) =>
      reexportsAll(host.readFile(containingFile) ?? '', name) ? ts.resolveModuleName(name, containingFile, options, host).resolvedModule : undefined,
    )
  const program = ts.createProgram([...files.values()], options, host)
  const checker = program.getTypeChecker()
  const exporters = new Map<string, string[]>()
  for (const [subpath, file] of files) {
    const module = checker.getSymbolAtLocation(program.getSourceFile(file)!)!
    for (const symbol of checker.getExportsOfModule(module)) exporters.set(symbol.name, [...(exporters.get(symbol.name) ?? []), subpath])
  }
  return exporters
}

describe('the public surface of @tokenquota/core', () => {
  const exporters = exportersByName()

  it('exports each name from one entry point only', () => {
    const twice = [...exporters].filter(([, subpaths]) => subpaths.length > 1).map(([name, subpaths]) => `${name}: ${subpaths.join(', ')}`)
    expect(twice).toEqual([])
  })

  it('exports each formerly doubled name from the home written down for it', () => {
    for (const [name, home] of Object.entries(homes)) expect([name, exporters.get(name)]).toEqual([name, [home]])
  })

  it('is not exported again by an adapter package', () => {
    const reexports = ['openai', 'anthropic', 'gemini', 'langchain', 'ai-sdk'].filter((name) =>
      /export\s+(type\s+)?\{[^}]*\}\s+from\s+'@tokenquota\/core/.test(readFileSync(join(root, 'packages', name, 'src/index.ts'), 'utf8')),
    )
    expect(reexports).toEqual([])
  })
})
