// @tokenquota/core/config: policies from a YAML or JSON file (reads files: Node only).
export { loadQuotaConfig, parseQuotaConfig } from './config-file.js'
export type { QuotaConfig, QuotaAlert } from './config-file.js'
