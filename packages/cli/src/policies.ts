import { existsSync } from 'node:fs'
import { terminal } from './terminal.js'
import { createTokenQuota, type TokenQuota } from '@tokenquota/core'
import type { QuotaStore } from '@tokenquota/core/store'
import type { QuotaAlert } from '@tokenquota/core/config'
import { CliError } from './cli-error.js'
import { type AppPolicies, isModule, loadConfigModule } from './config-module.js'
import { type StoreFlags, timeoutOf } from './connect.js'
import { type ShardFlags, shardKeyOf } from './shard.js'

/** The config file: `--config`, else `TOKENQUOTA_CONFIG`, else `./token_limits.yaml` if there is one. */
export function configPath(flag: string | undefined, env: NodeJS.ProcessEnv = terminal().env): string {
  const path = flag ?? env.TOKENQUOTA_CONFIG ?? (existsSync('token_limits.yaml') ? 'token_limits.yaml' : undefined)
  if (!path)
    throw new CliError('no policies: pass --config token_limits.yaml (the file your app loads, or a module exporting its policies), or set TOKENQUOTA_CONFIG')
  return path
}

/**
 * The app's policies from a YAML/JSON config or a JS/TS module. A broken config throws `QuotaConfigError`
 * (exit code 2); a module still loading after `timeoutMs` (the command's `--timeout`, else 10 s) a `CliError` (exit code 1).
 */
export async function loadPolicies(path: string, timeoutMs = timeoutOf({})): Promise<AppPolicies & { readonly alerts?: readonly QuotaAlert[] }> {
  if (isModule(path)) return loadConfigModule(path, timeoutMs)
  // Loaded only for a YAML/JSON file: the YAML parser is a sixth of a CLI run's start-up.
  const { loadQuotaConfig } = await import('@tokenquota/core/config')
  return loadQuotaConfig(path)
}

/** The app's policies on the app's store: what the app would decide, seen from here. */
export async function quotaOn(store: QuotaStore, flags: ShardFlags & Pick<StoreFlags, 'timeout'> & { readonly config?: string }): Promise<TokenQuota> {
  const app = await loadPolicies(configPath(flags.config), timeoutOf(flags))
  const shardKey = shardKeyOf(flags, app.shardKey)
  return createTokenQuota({
    policies: app.policies,
    store,
    prices: [],
    ...(app.unidentified === undefined ? {} : { unidentified: app.unidentified }),
    ...(shardKey === undefined ? {} : { shardKey }),
  })
}
