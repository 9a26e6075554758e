import { afterEach, beforeEach, vi } from 'vitest'

// A vitest setup file for the LangChain tests. LangChain logs every error a callback handler raises
// before rethrowing it ("Error in handler TokenQuotaCallbackHandler, handleLLMStart: …"): for a
// quota refusal, which the test then sees as the call's own error, that line is expected noise.
// Only those lines are dropped; anything else still reaches stderr.
const expected = /^Error in handler TokenQuotaCallbackHandler, handle\w+: TokenQuotaExceededError: /

export function isExpectedHandlerError(args: readonly unknown[]): boolean {
  return args.length === 1 && typeof args[0] === 'string' && expected.test(args[0])
}

beforeEach(() => {
  const error = console.error.bind(console)
  vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
    if (!isExpectedHandlerError(args)) error(...args)
  })
})

afterEach(() => {
  vi.mocked(console.error).mockRestore()
})
