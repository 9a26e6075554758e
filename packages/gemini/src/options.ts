import type { AdapterOptions } from '@tokenquota/core/adapter'

export interface WithTokenQuotaOptions extends AdapterOptions {
  /**
   * `@google/genai` only: count the prompt exactly with the free `models.countTokens` call before
   * reserving (one more request per call).
   * @default false
   */
  readonly countTokens?: boolean
  /**
   * Output tokens reserved when the request sets no `maxOutputTokens` (thinking tokens count as
   * output). A longer answer is still charged in full.
   * @default 8192
   */
  readonly defaultMaxOutputTokens?: number
}
