import { fileURLToPath } from 'node:url'

// Apart from harness.ts: a file that needs only the path (output.int.test.ts) does not import core, ioredis and the CLI.
/** The strategy note's token_limits.yaml: org (shared), project and user (by plan) policies. */
export const config = fileURLToPath(new URL('../../../core/src/config/__fixtures__/token_limits.yaml', import.meta.url))
