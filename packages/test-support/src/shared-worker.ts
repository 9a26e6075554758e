import { afterAll, vi } from 'vitest'

// A vitest setup file for the unit projects, whose test files run one after another in a shared
// worker (`isolate: false` in vitest.config.ts). What a file changed in the worker's globals —
// spies on `console` or `process`, fake timers, stubbed globals or environment variables — is put
// back when the file ends, so the next file starts as it would in a fresh worker.
afterAll(() => {
  vi.restoreAllMocks()
  vi.useRealTimers()
  vi.unstubAllGlobals()
  vi.unstubAllEnvs()
})
