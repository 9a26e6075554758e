import { importedConfigModule } from './config-imported.js'
import { runCli } from './program.js'

// Standard output failing ends the bin, not an unhandled 'error' stack trace: a reader that stopped
// reading (`tokenquota … | head -1`, EPIPE) has what it wanted, so 0, quietly; any other failure
// (a full disk) is one line on stderr and exit 1.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0)
  process.stderr.write(`tokenquota: cannot write the output: ${error.message}\n`)
  process.exit(1)
})

process.exitCode = await runCli(process.argv)
if (importedConfigModule()) {
  // The command is done; what the app's module opened at import (a Redis client, a timer) must not keep the CLI running.
  for (const stream of [process.stdout, process.stderr]) await new Promise((flushed) => stream.write('', flushed))
  process.exit()
}
