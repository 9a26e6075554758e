/**
 * Ends the bin when its standard output fails, instead of a stack trace for an unhandled `error`
 * event: a reader that stopped reading (`tokenquota … | head -1`, EPIPE) has what it wanted, so the
 * bin stops quietly with 0; any other failure (a full disk) is one line on stderr and exit 1.
 */
export function endOnOutputError(output: NodeJS.WriteStream = process.stdout): void {
  output.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0)
    process.stderr.write(`tokenquota: cannot write the output: ${error.message}\n`)
    process.exit(1)
  })
}
