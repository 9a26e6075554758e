// A small Gemini-compatible endpoint for the example: generateContent and streamGenerateContent
// (alt=sse), answering with realistic usageMetadata (thinking tokens included).
import { createServer } from 'node:http'

const answer = ['Quotas', ' keep', ' every', ' user', ' within', ' their', ' plan.']

/** Starts the endpoint on a free port; resolves with its base URL and a `close()`. */
export async function startLocalGemini() {
  const server = createServer(async (request, response) => {
    let raw = ''
    for await (const chunk of request) raw += chunk
    const body = JSON.parse(raw || '{}')
    const model = /models\/([^:]+):/.exec(request.url ?? '')?.[1] ?? 'gemini'
    const prompt = JSON.stringify(body.contents ?? '').length / 4
    const usage = (candidates) => ({
      promptTokenCount: Math.ceil(prompt),
      candidatesTokenCount: candidates,
      thoughtsTokenCount: 24,
      totalTokenCount: Math.ceil(prompt) + candidates + 24,
    })
    const chunk = (words, final) => ({
      candidates: [{ content: { role: 'model', parts: [{ text: words.join('') }] }, index: 0, ...(final && { finishReason: 'STOP' }) }],
      usageMetadata: usage(final ? answer.length : 0),
      modelVersion: model,
    })
    if (request.url?.includes(':streamGenerateContent')) {
      response.writeHead(200, { 'content-type': 'text/event-stream' })
      for (const [index, word] of answer.entries()) response.write(`data: ${JSON.stringify(chunk([word], index === answer.length - 1))}\r\n\r\n`)
      response.end()
    } else if (request.url?.includes(':generateContent')) {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(chunk(answer, true)))
    } else {
      response
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { code: 404, message: `No route ${request.url}`, status: 'NOT_FOUND' } }))
    }
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  return { baseUrl: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(resolve)) }
}
