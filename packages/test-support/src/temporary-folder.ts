import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { onTestFinished, type TestContext } from 'vitest'

/**
 * A fresh folder under the system's temporary folder, removed with everything in it when the test
 * that asked for it ends. A concurrent test passes its context (`temporaryFolder(prefix, context)`):
 * the global hook would tie the folder to whichever test happens to be running, and a sibling
 * that ends first would remove it under this one.
 */
export async function temporaryFolder(prefix = 'tokenquota-', test?: Pick<TestContext, 'onTestFinished'>): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), prefix))
  ;(test?.onTestFinished ?? onTestFinished)(() => rm(folder, { recursive: true, force: true }))
  return folder
}
