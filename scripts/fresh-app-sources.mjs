// The sources of the fresh app that scripts/check-packages.mjs installs the tarballs into: one
// import of every entry point of every published package, written for each way TypeScript resolves
// modules, and the tsconfig of each. What is compiled to JavaScript is then run by Node.

/** `@tokenquota/core`, `@tokenquota/core/redis`, …: the package's `exports`, less `./package.json`. */
export function entrySpecifiers(manifest) {
  return Object.keys(manifest.exports ?? {})
    .filter((key) => key !== './package.json')
    .map((key) => (key === '.' ? manifest.name : `${manifest.name}${key.slice(1)}`))
}

const strict = { strict: true, noUncheckedIndexedAccess: true, skipLibCheck: false, target: 'ES2022', lib: ['ES2023', 'DOM'], types: ['node'] }

/** Uses the entry points (`m0`, `m1`, …) so that a missing export, or one typed `any`, is noticed. */
function body(specifiers) {
  const core = specifiers.indexOf('@tokenquota/core')
  return [
    `const entries: Record<string, object> = { ${specifiers.map((specifier, index) => `'${specifier}': m${index}`).join(', ')} }`,
    'const empty = Object.keys(entries).filter((name) => Object.keys(entries[name] ?? {}).length === 0)',
    "if (empty.length > 0) throw new Error('nothing exported by ' + empty.join(', '))",
    `const quota = m${core}.createTokenQuota({ policies: [{ name: 'user-daily', identifier: 'user', allow: 1000, interval: 1, timeUnit: 'day' }] })`,
    'const reserve: (...args: never[]) => unknown = quota.reserve',
    "console.log(Object.keys(entries).length + ' entry points loaded, reserve is a ' + typeof reserve)",
    '',
  ].join('\n')
}

const esmImports = (specifiers) => specifiers.map((specifier, index) => `import * as m${index} from '${specifier}'`).join('\n')
const cjsImports = (specifiers) => specifiers.map((specifier, index) => `import m${index} = require('${specifier}')`).join('\n')
const json = (value) => `${JSON.stringify(value, null, 2)}\n`

// vitest refuses to be loaded with require(), so the store-contract suites of `/testing` are
// ESM-only at run time, whatever loads them (vitest itself imports test files as ESM).
const needsEsm = new Set(['@tokenquota/core/testing'])

/** Path → text of every file of the fresh app's sources, for the given package manifests. */
export function freshAppSources(manifests) {
  const specifiers = manifests.flatMap(entrySpecifiers)
  const requirable = specifiers.filter((specifier) => !needsEsm.has(specifier))
  return {
    'src/esm.mts': `${esmImports(specifiers)}\n\n${body(specifiers)}`,
    'src/cjs.cts': `${cjsImports(requirable)}\n\n${body(requirable)}`,
    'src/bundler.ts': `${esmImports(specifiers)}\n\n${body(specifiers)}`,
    'src/node10.ts': `${esmImports(requirable)}\n\n${body(requirable)}`,
    'tsconfig.nodenext.json': json({
      compilerOptions: { ...strict, module: 'nodenext', moduleResolution: 'nodenext', rootDir: 'src', outDir: 'out/nodenext' },
      files: ['src/esm.mts', 'src/cjs.cts'],
    }),
    'tsconfig.bundler.json': json({ compilerOptions: { ...strict, module: 'preserve', moduleResolution: 'bundler', noEmit: true }, files: ['src/bundler.ts'] }),
    // TypeScript 5.9's `module: commonjs` resolves like Node 10: no `exports`, only `typesVersions`.
    'tsconfig.commonjs.json': json({
      compilerOptions: { ...strict, module: 'commonjs', esModuleInterop: true, rootDir: 'src', outDir: 'out/commonjs' },
      files: ['src/node10.ts'],
    }),
    'out/commonjs/package.json': json({ type: 'commonjs' }),
  }
}
