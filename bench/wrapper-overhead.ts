// Latency added by withTokenQuota() to the real openai client, against a local HTTP server that
// answers at once (plain and streamed), raw and wrapped calls interleaved.
//   npm run build && node bench/wrapper-overhead.ts
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createTokenQuota } from '@tokenquota/core'
import { withTokenQuota } from '@tokenquota/openai'
import OpenAI from 'openai'

const calls = 3000
const usage = { prompt_tokens: 19, completion_tokens: 10, total_tokens: 29 }
const completion = JSON.stringify({
  id: 'c',
  object: 'chat.completion',
  created: 1,
  model: 'gpt-4o',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello!' }, finish_reason: 'stop' }],
  usage,
})
const chunk = (extra: object) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', ...extra })}\n\n`
const stream = [
  chunk({ choices: [{ index: 0, delta: { role: 'assistant', content: 'Hello' }, finish_reason: null }] }),
  chunk({ choices: [{ index: 0, delta: { content: '!' }, finish_reason: 'stop' }] }),
  chunk({ choices: [], usage }),
  'data: [DONE]\n\n',
].join('')

const server = createServer((request, response) => {
  let body = ''
  request.on('data', (part) => (body += part))
  request.on('end', () => {
    if (JSON.parse(body).stream) response.writeHead(200, { 'content-type': 'text/event-stream' }).end(stream)
    else response.writeHead(200, { 'content-type': 'application/json' }).end(completion)
  })
})
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
const baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`

const quota = createTokenQuota({ policies: [{ name: 'user-daily', identifier: 'user', allow: 1e12, interval: 1, timeUnit: 'day' }] })
const raw = new OpenAI({ apiKey: 'local', baseURL, maxRetries: 0 })
const wrapped = withTokenQuota(new OpenAI({ apiKey: 'local', baseURL, maxRetries: 0 }), { quota })
const messages = [{ role: 'user' as const, content: 'Say hello' }]

async function plain(client: OpenAI) {
  await client.chat.completions.create({ model: 'gpt-4o', messages, max_completion_tokens: 100 })
}
async function streamed(client: OpenAI) {
  for await (const _ of await client.chat.completions.create({
    model: 'gpt-4o',
    messages,
    max_completion_tokens: 100,
    stream: true,
    stream_options: { include_usage: true },
  })) {
    // drain
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
await quota.withContext({ user: 'alice' }, async () => {
  console.log(`node ${process.version}, openai ${OpenAI.name} client, ${calls} calls each, interleaved, median latency`)
  for (const [name, call] of [
    ['plain', plain],
    ['streamed', streamed],
  ] as const) {
    for (let warmup = 0; warmup < 300; warmup += 1) await call(warmup % 2 ? raw : wrapped)
    const times: Record<'raw' | 'wrapped', number[]> = { raw: [], wrapped: [] }
    for (let index = 0; index < calls; index += 1) {
      for (const [label, client] of (index % 2
        ? [
            ['raw', raw],
            ['wrapped', wrapped],
          ]
        : [
            ['wrapped', wrapped],
            ['raw', raw],
          ]) as Array<['raw' | 'wrapped', OpenAI]>) {
        const started = performance.now()
        await call(client)
        times[label].push(performance.now() - started)
      }
    }
    const [rawMedian, wrappedMedian] = [median(times.raw), median(times.wrapped)]
    console.log(
      `${name.padEnd(9)} raw ${(rawMedian * 1000).toFixed(0)} µs, wrapped ${(wrappedMedian * 1000).toFixed(0)} µs, added ${((wrappedMedian / rawMedian - 1) * 100).toFixed(1)} %`,
    )
  }
})
server.close()
