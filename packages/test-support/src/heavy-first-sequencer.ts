import { BaseSequencer, type TestSequencerConstructor, type TestSpecification } from 'vitest/node'

/**
 * Orders a run's files so that its two workers finish together. Vitest runs projects in the order
 * of their names, so on 2 cores the run ended on the repository's README examples with one worker
 * idle, and the multi-process files started mid-run. Here the projects whose files are long and
 * start processes come first (names in `first`, in that order), then the others by name; within a
 * project, Vitest's own order (longest or largest file first). The unit projects, hundreds of
 * short files, come last and fill whatever time is left.
 */
export function heavyFirst(first: readonly string[]): TestSequencerConstructor {
  const rank = (spec: TestSpecification) => {
    const index = first.indexOf(spec.project.name)
    return index === -1 ? first.length : index
  }
  return class HeavyFirstSequencer extends BaseSequencer {
    override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
      const sorted = await super.sort(files)
      const position = new Map(sorted.map((spec, index) => [spec, index]))
      return sorted.sort((a, b) => rank(a) - rank(b) || position.get(a)! - position.get(b)!)
    }
  }
}
