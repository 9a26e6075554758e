// Gemini API bodies, in the shape generativelanguage.googleapis.com returns them.

export const geminiBaseURL = 'https://generativelanguage.googleapis.com'

export interface GeminiCounts {
  readonly prompt: number
  readonly candidates: number
  readonly thoughts?: number
  readonly toolUse?: number
  readonly cached?: number
}

export function geminiUsage({ prompt, candidates, thoughts, toolUse, cached }: GeminiCounts) {
  return {
    promptTokenCount: prompt,
    candidatesTokenCount: candidates,
    totalTokenCount: prompt + candidates + (thoughts ?? 0) + (toolUse ?? 0),
    ...(cached !== undefined && { cachedContentTokenCount: cached }),
    ...(thoughts !== undefined && { thoughtsTokenCount: thoughts }),
    ...(toolUse !== undefined && { toolUsePromptTokenCount: toolUse }),
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: prompt }],
  }
}

export function geminiResponse(options: { text?: string; usage?: GeminiCounts | null; model?: string } = {}) {
  const { text = 'Hello! How can I help you today?', usage = { prompt: 5, candidates: 9, thoughts: 34 }, model = 'gemini-2.5-flash' } = options
  return {
    candidates: [{ content: { parts: [{ text }], role: 'model' }, finishReason: 'STOP', index: 0 }],
    ...(usage === null ? {} : { usageMetadata: geminiUsage(usage) }),
    modelVersion: model,
    responseId: 'qSPlaOm7Mr-bkdUP5oG4oQk',
  }
}

/** The chunks of a streamed answer (`alt=sse`): every chunk carries usage so far, the last the final usage. */
export function geminiChunks(options: { words?: readonly string[]; usage?: GeminiCounts; model?: string } = {}) {
  const { words = ['Hello', '! How', ' can I', ' help?'], usage = { prompt: 5, candidates: 6, thoughts: 20 }, model = 'gemini-2.5-flash' } = options
  return words.map((word, index) => {
    const last = index === words.length - 1
    return {
      candidates: [{ content: { parts: [{ text: word }], role: 'model' }, index: 0, ...(last && { finishReason: 'STOP' }) }],
      usageMetadata: last ? geminiUsage(usage) : { promptTokenCount: usage.prompt, totalTokenCount: usage.prompt + (usage.thoughts ?? 0) },
      modelVersion: model,
      responseId: 'pSPlaPbsC7GjkdUPsI-4oQk',
    }
  })
}

export function geminiEmbeddings(count = 1) {
  return { embeddings: Array.from({ length: count }, () => ({ values: [0.0132, -0.0081, 0.0457] })) }
}
