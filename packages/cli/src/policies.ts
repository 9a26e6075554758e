import { existsSync } from 'node:fs'
import { createTokenQuota, type QuotaStore, type TokenQuota } from '@tokenquota/core'
import { loadQuotaConfig } from '@tokenquota/core/config'
import { CliError } from './cli-error.js'

/** The config file: `--config`, else `TOKENQUOTA_CONFIG`, else `./token_limits.yaml` if there is one. */
export function configPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const path = flag ?? env.TOKENQUOTA_CONFIG ?? (existsSync('token_limits.yaml') ? 'token_limits.yaml' : undefined)
  if (!path) throw new CliError('no policies: pass --config token_limits.yaml (the file your app loads), or set TOKENQUOTA_CONFIG')
  return path
}

/** The app's policies on the app's store: what the app would decide, seen from here. A broken config throws `QuotaConfigError` (exit code 2). */
export async function quotaOn(store: QuotaStore, configFlag: string | undefined): Promise<TokenQuota> {
  const { policies } = await loadQuotaConfig(configPath(configFlag))
  return createTokenQuota({ policies, store, prices: [] })
}
