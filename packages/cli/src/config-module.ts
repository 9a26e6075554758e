import { existsSync } from 'node:fs'
import { extname, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { type QuotaContext, QuotaConfigError, type QuotaPolicy, type UnidentifiedPolicy } from '@tokenquota/core'
import { CliError } from './cli-error.js'
import { importingConfigModule } from './config-imported.js'
import { withDeadline } from './deadline.js'

/** What the CLI takes from the app's quota options: enough to name the same counters. */
export interface AppPolicies {
  readonly policies: readonly QuotaPolicy[]
  readonly unidentified?: UnidentifiedPolicy
  /** The app's `shardKey` (only from a module: a YAML file has none). */
  readonly shardKey?: (context: QuotaContext) => string | undefined
}

const moduleExtensions = ['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts']

/** Whether `path` is a JS or TS module (else a YAML or JSON config file). */
export function isModule(path: string): boolean {
  return moduleExtensions.includes(extname(path).toLowerCase())
}

/**
 * The policies a JS/TS module exports: its default export, else its `policies` export, else its
 * only export that is a policies array or quota options (`{ policies, shardKey?, unidentified? }`,
 * e.g. what the app passes to `createTokenQuota`; its `store` is not used). A module still loading
 * after `timeoutMs` (a top-level `await` on a connection that never opens) fails with exit code 1.
 */
export async function loadConfigModule(path: string, timeoutMs: number): Promise<AppPolicies> {
  const absolute = resolve(path)
  if (!existsSync(absolute)) throw invalid(path, 'no such file')
  const exported = await withDeadline(importModule(path, absolute), timeoutMs, () => stalled(path, timeoutMs))
  const named = Object.entries(exported).filter(([name, value]) => name !== 'default' && name !== 'policies' && optionsOf(value))
  const chosen = optionsOf(exported.default) ?? optionsOf(exported.policies) ?? (named.length === 1 ? optionsOf(named[0]?.[1]) : undefined)
  if (chosen) return chosen
  const quotas = Object.entries(exported).filter(([, value]) => isTokenQuota(value))
  if (quotas.length > 0)
    throw invalid(
      path,
      `it exports a TokenQuota (${quotas.map(([name]) => name).join(', ')}), whose policies are already built: export the policies or the createTokenQuota options it is made from`,
    )
  if (named.length > 1)
    throw invalid(path, `it exports several policy sets (${named.map(([name]) => name).join(', ')}): export the app's as default or as policies`)
  throw invalid(path, 'it exports no policies: export default the policies array or the createTokenQuota options, or export const policies = [...]')
}

async function importModule(path: string, absolute: string): Promise<Record<string, unknown>> {
  try {
    importingConfigModule()
    return (await import(pathToFileURL(absolute).href)) as Record<string, unknown>
  } catch (error) {
    const code = (error as { code?: unknown }).code
    if (code === 'ERR_UNKNOWN_FILE_EXTENSION' && /\.[cm]?ts$/i.test(path))
      throw new CliError(`cannot load ${path}: this Node (${process.version}) does not run TypeScript; use Node 22.18+ or 23.6+ (or compile the module to .js)`)
    if (code === 'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX')
      throw new CliError(
        `cannot load ${path}: Node strips types but does not transform TypeScript (${firstLine(error)}); keep the policies module to erasable syntax, or compile it to .js`,
      )
    if (QuotaConfigError.isInstance(error)) throw error
    throw new CliError(`cannot load ${path}: ${firstLine(error)}`)
  }
}

/** `value` as the CLI's options, if it is a policies array or options with one (a built TokenQuota is not). */
function optionsOf(value: unknown): AppPolicies | undefined {
  if (Array.isArray(value)) return { policies: value as QuotaPolicy[] }
  if (typeof value !== 'object' || value === null || !Array.isArray((value as { policies?: unknown }).policies) || isTokenQuota(value)) return undefined
  const { policies, shardKey, unidentified } = value as AppPolicies
  return { policies, ...(typeof shardKey === 'function' ? { shardKey } : {}), ...(unidentified === undefined ? {} : { unidentified }) }
}

function isTokenQuota(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as { reserve?: unknown }).reserve === 'function' && 'admin' in value
}

// Exit code 1, as a store that does not answer: the module may be fine and what it waits for down.
function stalled(path: string, ms: number): CliError {
  return new CliError(
    `cannot load ${path}: it did not finish loading within ${ms / 1000} s; check what it awaits at its top level (a connection that never opens, a promise that never settles)`,
    1,
  )
}

function invalid(path: string, why: string): QuotaConfigError {
  return new QuotaConfigError({ code: 'InvalidConfiguration', message: `Cannot use "${path}" as the policies: ${why}` })
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? ''
}
