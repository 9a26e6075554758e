/** How prompt estimates compare with what the provider reported, for one model. */
export interface EstimateStats {
  readonly model: string
  /** Calls whose provider usage reported the prompt. */
  readonly calls: number
  /** Sum of the prompt estimates of those calls, and of what the provider counted. */
  readonly estimatedTokens: number
  readonly reportedTokens: number
  /** The highest reported / estimated ratio seen (above 1: an estimate was low). */
  readonly worstRatio: number
  /** What the engine now multiplies this model's prompt estimates by (1 when they have held). */
  readonly correction: number
}

/** The most a correction multiplies an estimate by: beyond it the estimator is wrong, not a little short. */
const maxCorrection = 4
/** Each call that fits moves the correction this far back toward 1. */
const decay = 0.02

interface ModelFigures {
  calls: number
  estimatedTokens: number
  reportedTokens: number
  worstRatio: number
  correction: number
}

/**
 * Learns, per model, how far prompt estimates fall short of the provider's count: a correction
 * that rises at once to the ratio seen (bounded), decays slowly while estimates hold, and never
 * goes below 1 — it only ever raises the heuristic's upper bound.
 */
export class EstimateLearning {
  readonly #models = new Map<string, ModelFigures>()

  /** Records a call; returns the ratio when this is the model's first low estimate. */
  note(model: string, estimated: number, reported: number): number | undefined {
    if (!(estimated > 0) || !Number.isFinite(reported) || reported < 0) return undefined
    let figures = this.#models.get(model)
    if (!figures) {
      figures = { calls: 0, estimatedTokens: 0, reportedTokens: 0, worstRatio: 0, correction: 1 }
      this.#models.set(model, figures)
    }
    const ratio = reported / estimated
    const firstLow = ratio > 1 && figures.worstRatio <= 1
    figures.calls += 1
    figures.estimatedTokens += estimated
    figures.reportedTokens += reported
    figures.worstRatio = Math.max(figures.worstRatio, ratio)
    // Ratios are of the estimate before correction, so the correction needed is the ratio itself.
    figures.correction = Math.min(maxCorrection, Math.max(1, ratio, figures.correction - (figures.correction - 1) * decay))
    return firstLow ? ratio : undefined
  }

  /** A prompt estimate raised by the model's correction. */
  correct(model: string | undefined, input: number): number {
    const correction = model === undefined ? 1 : (this.#models.get(model)?.correction ?? 1)
    return correction === 1 ? input : Math.ceil(input * correction)
  }

  stats(): EstimateStats[] {
    return [...this.#models].map(([model, figures]) => ({ model, ...figures }))
  }
}
