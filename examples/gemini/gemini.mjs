// withTokenQuota() on @google/genai: per-user budgets per model, with Pro falling back to Flash
// (each call reserves its prompt plus maxOutputTokens, so Pro's small budget runs out on turn 3).
// Runs against Gemini with GEMINI_API_KEY set, else against a local Gemini-compatible endpoint.
import { GoogleGenAI } from '@google/genai'
import { createTokenQuota } from '@tokenquota/core'
import { withTokenQuota } from '@tokenquota/gemini'
import { startLocalGemini } from './local-gemini-server.mjs'

const local = process.env.GEMINI_API_KEY ? undefined : await startLocalGemini()
const quota = createTokenQuota({
  policies: [
    { name: 'pro-daily', identifier: 'user', allow: 1_100, interval: 1, timeUnit: 'day', models: ['gemini-2.5-pro'] },
    { name: 'flash-daily', identifier: 'user', allow: 50_000, interval: 1, timeUnit: 'day', models: ['gemini-2.5-flash'] },
  ],
  on: { fallback: (event) => console.log(`  ↘ ${event.error.policy} is spent: ${event.from} → ${event.to}`) },
})
const ai = withTokenQuota(new GoogleGenAI({ apiKey: process.env.GEMINI_API_KEY || 'local', ...(local && { httpOptions: { baseUrl: local.baseUrl } }) }), {
  quota,
  fallback: { 'gemini-2.5-pro': 'gemini-2.5-flash' },
})

try {
  await quota.withContext({ user: 'alice' }, async () => {
    for (let turn = 1; turn <= 3; turn += 1) {
      const config = { maxOutputTokens: 1024 }
      if (turn === 2) {
        let text = ''
        for await (const chunk of await ai.models.generateContentStream({ model: 'gemini-2.5-pro', contents: 'Why per-user quotas?', config }))
          text += chunk.text ?? ''
        console.log(`turn ${turn} (streamed): ${text}`)
      } else {
        const response = await ai.models.generateContent({ model: 'gemini-2.5-pro', contents: 'Why per-user quotas?', config })
        console.log(`turn ${turn} (${response.modelVersion}): ${response.text}`)
      }
    }
  })
  for (const model of ['gemini-2.5-pro', 'gemini-2.5-flash']) {
    const [status] = await quota.status({ user: 'alice' }, { model })
    console.log(`alice ${status.name}: ${status.used}/${status.allowed} used`)
  }
} finally {
  await local?.close()
}
