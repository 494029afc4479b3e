#!/usr/bin/env node
/**
 * The `sqlaio` command (package.json `bin`): runs one SQL statement and writes its rows as a
 * table, CSV, NDJSON, Arrow IPC or Parquet. See `sqlaio --help` and docs/files-and-cli.md.
 */
import { runCli } from './run.js'

const interrupt = new AbortController()
let interrupts = 0
process.on('SIGINT', () => {
  // The first Ctrl-C cancels the statement; a second one leaves at once.
  if (++interrupts > 1) process.exit(130)
  interrupt.abort()
})
// A closed stdout (`sqlaio … | head`) is the reader's choice, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0)
})

process.exitCode = await runCli({
  argv: process.argv.slice(2),
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  interrupt: interrupt.signal,
})
