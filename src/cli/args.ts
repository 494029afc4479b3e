/**
 * The command line's arguments, parsed with Node's own `util.parseArgs` (no dependency), and
 * checked: every mistake is a UsageError with a one-line message.
 */
import { extname } from 'node:path'
import { parseArgs } from 'node:util'

export const FORMATS = ['table', 'csv', 'ndjson', 'arrow', 'parquet'] as const
export type Format = (typeof FORMATS)[number]

/** A mistake in the arguments (exit code 2). */
export class UsageError extends Error {
  override name = 'UsageError'
}

export interface CliArgs {
  help: boolean
  version: boolean
  url: string
  /** The SQL, or null to read it from stdin. */
  sql: string | null
  /** Null: chosen from --out's extension, or by whether stdout is a terminal. */
  format: Format | null
  out: string | null
  timeoutMs: number
  batchRows: number | undefined
}

export const USAGE = `Usage: sqlaio <url> ["<sql>"] [options]

Runs one SQL statement and writes its rows. The SQL is read from stdin when not given.

  <url>                 sqlite:///relative.db, sqlite:////abs/path.db, sqlite:// (memory)

Options:
  -f, --format FORMAT   table | csv | ndjson | arrow | parquet
                        (default: from --out's extension, else table on a terminal, csv otherwise)
  -o, --out FILE        write to FILE instead of stdout
  -t, --timeout TIME    give up after TIME: 500ms, 5s, 2m, or seconds (default: none)
      --batch-rows N    rows per record batch
  -h, --help            show this help
  -v, --version         show the version

A progress line (rows, rows/s, bytes, elapsed) is shown on stderr when it is a terminal.
Ctrl-C cancels the running statement (exit code 130); a timeout exits with 124.`

const EXTENSIONS: Record<string, Format> = {
  '.csv': 'csv',
  '.ndjson': 'ndjson',
  '.jsonl': 'ndjson',
  '.arrow': 'arrow',
  '.ipc': 'arrow',
  '.feather': 'arrow',
  '.parquet': 'parquet',
  '.txt': 'table',
}

/** The format a file name implies, if any. */
export function formatOfPath(path: string): Format | null {
  return EXTENSIONS[extname(path).toLowerCase()] ?? null
}

/** Milliseconds in "500ms", "5s", "1.5m", "1h" or a bare number of seconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim())
  if (!match) throw new UsageError(`--timeout: expected a duration such as 500ms, 5s or 2m, got "${text}"`)
  const scale = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? 's'] as number
  const ms = Number(match[1]) * scale
  if (!(ms > 0)) throw new UsageError(`--timeout must be more than zero, got "${text}"`)
  return ms
}

export function parseCli(argv: string[]): CliArgs {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv)
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
  const { values, positionals } = parsed
  const help = values.help === true
  const version = values.version === true
  if (help || version) {
    return { help, version, url: '', sql: null, format: null, out: null, timeoutMs: 0, batchRows: undefined }
  }
  if (positionals.length === 0) throw new UsageError('missing the database URL, e.g. sqlite:///data.db')
  if (positionals.length > 2) {
    throw new UsageError(
      `expected a URL and one SQL string, got ${positionals.length} arguments (quote the SQL)`,
    )
  }
  const format = values.format ?? null
  if (format !== null && !(FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, got "${format}"`)
  }
  let batchRows: number | undefined
  if (values['batch-rows'] !== undefined) {
    batchRows = Number(values['batch-rows'])
    if (!Number.isInteger(batchRows) || batchRows < 1) {
      throw new UsageError(`--batch-rows must be a positive integer, got "${values['batch-rows']}"`)
    }
  }
  return {
    help,
    version,
    url: positionals[0]!,
    sql: positionals[1] ?? null,
    format: format as Format | null,
    out: values.out ?? null,
    timeoutMs: values.timeout === undefined ? 0 : parseDuration(values.timeout),
    batchRows,
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      format: { type: 'string', short: 'f' },
      out: { type: 'string', short: 'o' },
      timeout: { type: 'string', short: 't' },
      'batch-rows': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  })
}
