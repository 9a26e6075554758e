import * as asyncHooks from 'node:async_hooks'
import { QuotaConfigError } from '../shared/errors.js'
import type { QuotaContext } from '../shared/types.js'

/** Where the runtime has no `AsyncLocalStorage` (a bundle that maps `node:async_hooks` to an empty module), there is no ambient context. */
const Storage: typeof asyncHooks.AsyncLocalStorage | undefined = (asyncHooks as Partial<typeof asyncHooks>).AsyncLocalStorage

/** The ambient caller context of `quota.withContext()`, carried across awaits by `AsyncLocalStorage`. */
export class ContextScope {
  readonly #storage = Storage === undefined ? undefined : new Storage<QuotaContext>()

  run<T>(context: QuotaContext, fn: () => T): T {
    if (this.#storage === undefined) {
      throw new QuotaConfigError({
        code: 'InvalidConfiguration',
        field: 'withContext',
        message:
          "quota.withContext() needs AsyncLocalStorage (node:async_hooks), which this runtime lacks: pass the context explicitly instead — an adapter's `context` option, or quota.reserve(context, …)",
      })
    }
    return this.#storage.run(context, fn)
  }

  current(): QuotaContext | undefined {
    return this.#storage?.getStore()
  }
}
