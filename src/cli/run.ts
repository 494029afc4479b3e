/**
 * What the `sqlaio` command does, as a function of its arguments and streams (so tests and the
 * bin entry share it): open the engine, run the statement with one AbortSignal for Ctrl-C and
 * the timeout, write the rows in the chosen format, and turn every failure into one line on
 * stderr and an exit code (1 error, 2 usage, 124 timeout, 130 interrupted).
 */
import { createReadStream, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { text } from 'node:stream/consumers'
import { pipeline } from 'node:stream/promises'
import { AbortError, type AsyncResult, createEngine, type Engine, type WriteOptions } from '../index.js'
import { openSink } from '../io/sink.js'
import { type CliArgs, type Format, formatOfPath, parseCli, USAGE, UsageError } from './args.js'
import { Progress } from './progress.js'
import { writeTable } from './table.js'

export interface CliIO {
  argv: string[]
  stdin: NodeJS.ReadStream
  stdout: NodeJS.WriteStream
  stderr: NodeJS.WriteStream
  /** Fires on Ctrl-C. */
  interrupt: AbortSignal
}

class Interrupted extends Error {}
class TimedOut extends Error {}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'))
  return String(pkg.version)
}

function chooseFormat(args: CliArgs, stdout: NodeJS.WriteStream): Format {
  if (args.format) return args.format
  if (args.out) return formatOfPath(args.out) ?? 'csv'
  return stdout.isTTY ? 'table' : 'csv'
}

async function readSql(args: CliArgs, stdin: NodeJS.ReadStream): Promise<string> {
  if (args.sql !== null) return args.sql
  if (stdin.isTTY) throw new UsageError('no SQL: give it as the second argument, or pipe it on stdin')
  const sql = (await text(stdin)).trim()
  if (sql === '') throw new UsageError('no SQL: stdin was empty')
  return sql
}

/** Runs the statement and writes its rows; resolves when everything is written. */
async function query(
  engine: Engine,
  sql: string,
  format: Format,
  args: CliArgs,
  io: CliIO,
  signal: AbortSignal,
) {
  const progress = new Progress(io.stderr)
  const result = await engine.execute(sql, [], { signal, rowMode: 'array', intMode: 'bigint' })
  if (!result.returnsRows) {
    if (io.stderr.isTTY) io.stderr.write(`${result.rowcount} rows changed\n`)
    return
  }
  const destination = args.out ?? io.stdout
  const options: WriteOptions = {
    signal,
    end: args.out !== null,
    onProgress: ({ rows, bytes }) => progress.update(rows, bytes),
  }
  switch (format) {
    case 'table': {
      const sink = await openSink(destination, { end: args.out !== null })
      try {
        const sharesTerminal = args.out === null && io.stdout.isTTY
        await writeTable(result, sink, {
          signal,
          onProgress: (rows, bytes) => progress.update(rows, bytes),
          beforeWrite: () => sharesTerminal && progress.clear(),
        })
        await sink.finish()
      } catch (error) {
        await sink.fail()
        throw error
      } finally {
        result.close()
      }
      break
    }
    case 'csv':
      await result.writeCSV(destination, options)
      break
    case 'ndjson':
      await result.writeNDJSON(destination, options)
      break
    case 'arrow':
      // A file gets the random-access file format; a pipe the stream format its readers expect.
      await result.writeIPC(destination, { ...options, format: args.out ? 'file' : 'stream' })
      break
    case 'parquet':
      if (args.out) await result.writeParquet(args.out, options)
      else await parquetTo(io.stdout, result, options)
      break
  }
  progress.done()
}

/**
 * Parquet to a stream: a Parquet file ends with its footer, written last, so it is written to a
 * temporary file first and then copied out.
 */
async function parquetTo(
  stdout: NodeJS.WriteStream,
  result: AsyncResult,
  options: WriteOptions,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sqlaio-cli-'))
  try {
    const path = join(dir, 'result.parquet')
    await result.writeParquet(path, options)
    await pipeline(createReadStream(path), stdout, { end: false, signal: options.signal })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return message.replace(/\s*\n\s*/g, ' ')
}

/** Runs the command; resolves with the exit code. */
export async function runCli(io: CliIO): Promise<number> {
  const fail = (message: string, code: number): number => {
    io.stderr.write(`sqlaio: ${message}\n`)
    return code
  }
  let engine: Engine | null = null
  const controller = new AbortController()
  const onInterrupt = (): void => controller.abort(new Interrupted('interrupted'))
  io.interrupt.addEventListener('abort', onInterrupt, { once: true })
  let timer: NodeJS.Timeout | undefined
  try {
    const args = parseCli(io.argv)
    if (args.help) {
      io.stdout.write(`${USAGE}\n`)
      return 0
    }
    if (args.version) {
      io.stdout.write(`${version()}\n`)
      return 0
    }
    if (args.timeoutMs > 0) {
      const after = `${args.timeoutMs / 1000} s`
      timer = setTimeout(() => controller.abort(new TimedOut(after)), args.timeoutMs)
    }
    const format = chooseFormat(args, io.stdout)
    engine = createEngine(args.url, args.batchRows ? { batchRows: args.batchRows } : {})
    const sql = await readSql(args, io.stdin)
    await query(engine, sql, format, args, io, controller.signal)
    return 0
  } catch (error) {
    const reason: unknown = controller.signal.reason
    if (reason instanceof Interrupted) return fail('cancelled (Ctrl-C)', 130)
    if (reason instanceof TimedOut) {
      return fail(`timed out after ${reason.message}`, 124)
    }
    if (error instanceof UsageError) return fail(`${error.message} (see sqlaio --help)`, 2)
    if ((error as NodeJS.ErrnoException).code === 'EPIPE') return 0
    if (error instanceof AbortError) return fail(oneLine(error), 130)
    return fail(oneLine(error), 1)
  } finally {
    clearTimeout(timer)
    io.interrupt.removeEventListener('abort', onInterrupt)
    await engine?.dispose()
  }
}
