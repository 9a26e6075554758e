import { importedConfigModule } from './config-module.js'
import { endOnOutputError } from './output-errors.js'
import { runCli } from './program.js'

endOnOutputError()

process.exitCode = await runCli(process.argv)
if (importedConfigModule()) {
  // The command is done; what the app's module opened at import (a Redis client, a timer) must not keep the CLI running.
  for (const stream of [process.stdout, process.stderr]) await new Promise((flushed) => stream.write('', flushed))
  process.exit()
}
