import { BaseSequencer, type TestSequencerConstructor, type TestSpecification } from 'vitest/node'

/**
 * Orders a run's files so that its two workers finish together. Vitest runs projects in the order
 * of their names, so on 2 cores the run ended on the repository's README examples with one worker
 * idle, and the multi-process files started mid-run. Here the projects whose files are long and
 * start processes come first (names in `first`, in that order), then the others by name, then those
 * named in `last`; within a project, Vitest's own order (longest or largest file first). The unit
 * project, hundreds of short files, comes last and fills whatever time is left: the other unit
 * projects (older SDKs) load whole SDKs per worker (LangChain: ~2.5 s), which at the end of the run
 * kept one worker busy while the other had nothing left.
 */
export function heavyFirst(first: readonly string[], last: readonly string[] = []): TestSequencerConstructor {
  const rank = (spec: TestSpecification) => {
    const { name } = spec.project
    if (first.includes(name)) return first.indexOf(name)
    return last.includes(name) ? first.length + 1 + last.indexOf(name) : first.length
  }
  return class HeavyFirstSequencer extends BaseSequencer {
    override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
      const sorted = await super.sort(files)
      const position = new Map(sorted.map((spec, index) => [spec, index]))
      return sorted.sort((a, b) => rank(a) - rank(b) || position.get(a)! - position.get(b)!)
    }
  }
}
