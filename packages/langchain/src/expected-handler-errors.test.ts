import { expect, it } from 'vitest'
import { isExpectedHandlerError } from '../../test-support/src/expected-handler-errors.js'

it("the test setup drops only LangChain's log of a quota refusal it rethrows, nothing else", () => {
  expect(
    isExpectedHandlerError(['Error in handler TokenQuotaCallbackHandler, handleLLMStart: TokenQuotaExceededError: Token quota "user-daily" exceeded']),
  ).toBe(true)
  expect(isExpectedHandlerError(['Error in handler TokenQuotaCallbackHandler, handleLLMEnd: TypeError: boom'])).toBe(false)
  expect(isExpectedHandlerError(['Error in handler OtherHandler, handleLLMStart: TokenQuotaExceededError: x'])).toBe(false)
  expect(isExpectedHandlerError(['Error in handler TokenQuotaCallbackHandler, handleLLMStart: TokenQuotaExceededError: x', new Error('more')])).toBe(false)
  expect(isExpectedHandlerError(['something else'])).toBe(false)
})
