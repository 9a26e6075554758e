import { meterOnRead } from '@tokenquota/core/adapter'
import { answerTextOf, outputTextOf, usageOf } from './usage.js'
import type { CallPlan } from './call-gate.js'
import type { ServerContext } from './server-context.js'
import { meterChatEventStream } from './stream-meter.js'

/** A successful response of a metered call, charged as it is read: an event stream, or a JSON body. */
export function meterResponse(plan: Extract<CallPlan, { metered: unknown }>, response: Response, serverContext: ServerContext): Response {
  const { metered, kind, hideUsageChunk } = plan
  if (response.headers.get('content-type')?.includes('text/event-stream') && response.body) {
    const body = meterChatEventStream(response.body, metered, {
      kind,
      hideUsageChunk,
      usageOf: (event) => {
        if (kind === 'responses') serverContext.remember(event)
        return usageOf(kind, event)
      },
    })
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers })
  }
  return meterOnRead(
    response,
    (parsed) => {
      if (kind === 'responses') serverContext.remember(parsed)
      return metered.commitUsage(usageOf(kind, parsed), outputTextOf(kind, parsed), { answer: () => answerTextOf(kind, parsed) })
    },
    () => metered.commitInterrupted(''),
  )
}
