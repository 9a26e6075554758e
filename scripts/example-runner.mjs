#!/usr/bin/env node
// `node example-runner.mjs <results.json> <example.mts>…`: runs the examples one after another in
// this one Node process, each as `node example.mts` would run it (its top-level awaits included), so
// the SDKs and packages they share load once, not once per example. Writes to <results.json>, per
// example in order, what it printed on stdout, what it threw and the exit code it set.
import { writeFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'

const [results = 'results.json', ...files] = process.argv.slice(2)
const write = process.stdout.write
const outcomes = []
for (const file of files) {
  let stdout = ''
  process.stdout.write = (chunk, ...rest) => {
    stdout += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString()
    rest.find((argument) => typeof argument === 'function')?.()
    return true
  }
  let error
  try {
    await import(pathToFileURL(file).href)
  } catch (thrown) {
    error = thrown instanceof Error ? (thrown.stack ?? thrown.message) : String(thrown)
  } finally {
    process.stdout.write = write
  }
  outcomes.push({ file, stdout, error, exitCode: process.exitCode })
  process.exitCode = undefined
}
writeFileSync(results, JSON.stringify(outcomes))

// An example closes what it opens (a client, a pool), or `node example.mts` would never exit for its
// reader: this process exits on its own once all have run, or fails naming what they left open.
setTimeout(() => {
  process.stderr.write(`The examples left open: ${process.getActiveResourcesInfo().join(', ')}\n`)
  process.exit(1)
}, 5_000).unref()
