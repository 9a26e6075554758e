import { auditScript, changeScript, inspectScript, resetScript } from './admin.js'
import { readBalancesScript, readLedgerScript, writeCreditsScript } from './credit-scripts.js'
import { extendScript, inspectLeaseScript } from './lease.js'
import { readScript } from './read.js'
import { noteRefusalsScript } from './refusal.js'
import { reserveScript } from './reserve.js'
import { settleScript } from './settle.js'

/** The Redis stores' Lua scripts, one per operation; each SHA is written out and checked by a test. */
export const scripts = {
  reserve: reserveScript,
  settle: settleScript,
  read: readScript,
  extend: extendScript,
  inspectLease: inspectLeaseScript,
  change: changeScript,
  inspect: inspectScript,
  reset: resetScript,
  audit: auditScript,
  noteRefusals: noteRefusalsScript,
  writeCredits: writeCreditsScript,
  readBalances: readBalancesScript,
  readLedger: readLedgerScript,
} as const
