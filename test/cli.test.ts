/**
 * The `sqlaio` command, spawned as users run it: output in every format read back by an
 * independent reader, SQL from stdin, one-line errors and exit codes, and, through a
 * pseudo-terminal (util-linux `script`), the progress line and Ctrl-C.
 */
import assert from 'node:assert/strict'
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { tableFromIPC } from 'apache-arrow'
import { parse as parseCsv } from 'csv-parse/sync'
import * as parquet from 'parquet-wasm'
import { createEngine } from '../src/index.js'
import { countSql, tempDbPath } from './helpers.js'

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url))
/** A statement that runs for many seconds unless cancelled. */
const ENDLESS_SQL =
  'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) SELECT sum(x) FROM c'

interface Outcome {
  code: number | null
  stdout: Buffer
  stderr: string
  elapsedMs: number
}

/** Runs the CLI with pipes (no terminal anywhere); `input` goes to stdin. */
function cli(args: string[], input?: string, onSpawn?: (pid: number) => void): Promise<Outcome> {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', (code) =>
      resolve({ code, stdout: Buffer.concat(out), stderr, elapsedMs: performance.now() - started }),
    )
    if (input === undefined) child.stdin.end()
    else child.stdin.end(input)
    onSpawn?.(child.pid!)
  })
}

/** A database file with a table of every storage class; returns its sqlite:/// URL. */
async function database(): Promise<string> {
  const path = tempDbPath('cli.db')
  const engine = createEngine(`sqlite:///${path}`)
  await engine.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, s TEXT, b BLOB)')
  await engine.executeMany('INSERT INTO t VALUES (?, ?, ?, ?)', [
    [1, 9007199254740993n, 'plain', Buffer.from([1, 2])],
    [2, null, 'comma, "quote"\nline', null],
    [3, -5n, '', Buffer.alloc(0)],
    [4, 0n, 'ünïcødé 😀', Buffer.from('z')],
  ])
  await engine.dispose()
  return `sqlite:///${path}`
}

const SQL = 'SELECT id, n, s, b FROM t ORDER BY id'

async function expectedRows(url: string): Promise<unknown[][]> {
  const engine = createEngine(url)
  try {
    return await (await engine.execute(SQL, [], { rowMode: 'array', intMode: 'bigint' })).fetchall<
      unknown[]
    >()
  } finally {
    await engine.dispose()
  }
}

const hex = (value: unknown): unknown =>
  value instanceof Uint8Array ? Buffer.from(value).toString('hex') : value

test('--help prints the usage; no arguments is a one-line usage error with exit code 2', async () => {
  const help = await cli(['--help'])
  assert.equal(help.code, 0)
  assert.match(help.stdout.toString(), /^Usage: sqlaio <url>/)
  const none = await cli([])
  assert.equal(none.code, 2)
  assert.match(none.stderr, /^sqlaio: missing the database URL.*\n$/)
  assert.equal(none.stderr.split('\n').length, 2, 'one line')
})

test('piped output is CSV by default, reads back equal, and no progress line is written', async () => {
  const url = await database()
  const outcome = await cli([url, SQL])
  assert.equal(outcome.code, 0, outcome.stderr)
  assert.equal(outcome.stderr, '')
  const records: (string | null)[][] = parseCsv(outcome.stdout.toString(), {
    cast: (value: string, context: { quoting: boolean }) => (context.quoting || value !== '' ? value : null),
  })
  const want = await expectedRows(url)
  assert.deepEqual(records[0], ['id', 'n', 's', 'b'])
  assert.deepEqual(
    records.slice(1),
    want.map((row) =>
      row.map((v) =>
        v === null ? null : v instanceof Uint8Array ? Buffer.from(v).toString('base64') : String(v),
      ),
    ),
  )
})

test('SQL from stdin, written as NDJSON', async () => {
  const url = await database()
  const outcome = await cli([url, '--format', 'ndjson'], 'SELECT id, s FROM t WHERE id <= 2 ORDER BY id\n')
  assert.equal(outcome.code, 0, outcome.stderr)
  assert.deepEqual(
    outcome.stdout
      .toString()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line)),
    [
      { id: 1, s: 'plain' },
      { id: 2, s: 'comma, "quote"\nline' },
    ],
  )
})

test('--out chooses the format from the extension: Arrow IPC and Parquet read back equal', async () => {
  const url = await database()
  const want = (await expectedRows(url)).map((row) => row.map(hex))
  const arrowPath = tempDbPath('out.arrow')
  const arrow = await cli([url, SQL, '--out', arrowPath])
  assert.equal(arrow.code, 0, arrow.stderr)
  assert.equal(arrow.stdout.byteLength, 0)
  const table = tableFromIPC(readFileSync(arrowPath))
  assert.deepEqual(
    table.toArray().map((row) => Object.values(row.toJSON()).map(hex)),
    want,
  )
  const parquetPath = tempDbPath('out.parquet')
  const pq = await cli([url, SQL, '-o', parquetPath, '--batch-rows', '2'])
  assert.equal(pq.code, 0, pq.stderr)
  const back = tableFromIPC(parquet.readParquet(readFileSync(parquetPath)).intoIPCStream())
  assert.deepEqual(
    back.toArray().map((row) => Object.values(row.toJSON()).map(hex)),
    want,
  )
})

test('--format parquet to stdout writes the whole Parquet file there', async () => {
  const url = await database()
  const want = (await expectedRows(url)).map((row) => row.map(hex))
  const outcome = await cli([url, SQL, '-f', 'parquet', '--batch-rows', '2'])
  assert.equal(outcome.code, 0, outcome.stderr)
  const back = tableFromIPC(parquet.readParquet(new Uint8Array(outcome.stdout)).intoIPCStream())
  assert.deepEqual(
    back.toArray().map((row) => Object.values(row.toJSON()).map(hex)),
    want,
  )
})

test('--format arrow to stdout is the IPC stream format', async () => {
  const url = await database()
  const outcome = await cli([url, 'SELECT id FROM t ORDER BY id', '-f', 'arrow'])
  assert.equal(outcome.code, 0, outcome.stderr)
  assert.equal(outcome.stdout.readInt32LE(0), -1)
  assert.deepEqual([...tableFromIPC(outcome.stdout).getChild('id')!], [1n, 2n, 3n, 4n])
})

test('--format table aligns columns, spells out NULL and counts the rows', async () => {
  const url = await database()
  const outcome = await cli([url, SQL, '-f', 'table'])
  assert.equal(outcome.code, 0, outcome.stderr)
  const lines = outcome.stdout.toString().split('\n')
  assert.match(lines[0]!, /^ +id \| +n +\| s +\| b/)
  assert.match(lines[1]!, /^-+\+-+\+-+\+-+$/)
  assert.match(lines[2]!, /^ +1 \| 9007199254740993 \| plain +\| x'0102'/)
  assert.match(lines[3]!, /\| +NULL \| comma, "quote"\\nline \| NULL/)
  assert.equal(lines[6], '(4 rows)')
  // Every row line has its separators at the same columns.
  const bars = (line: string): number[] => [...line].flatMap((c, i) => (c === '|' ? [i] : []))
  for (const line of lines.slice(2, 6)) assert.deepEqual(bars(line), bars(lines[0]!), line)
})

test('errors are one line on stderr with a non-zero exit code', async () => {
  const url = await database()
  const cases: [string[], number, RegExp][] = [
    [[url, 'SELEC 1'], 1, /^sqlaio: near "SELEC": syntax error\n$/],
    [['mysql://x', 'SELECT 1'], 1, /^sqlaio: .*mysql.*\n$/],
    [
      [url, 'SELECT 1', '-f', 'xml'],
      2,
      /^sqlaio: --format must be one of table, csv, ndjson, arrow, parquet/,
    ],
    [[url, 'SELECT 1', '--timeout', 'soon'], 2, /^sqlaio: --timeout: expected a duration/],
    [[url, 'SELECT 1', '--batch-rows', '0'], 2, /^sqlaio: --batch-rows must be a positive integer/],
    [[url, 'SELECT 1', '--nope'], 2, /^sqlaio: Unknown option '--nope'/],
    [[url, 'SELECT 1', '-o', '/nonexistent-dir/x.csv'], 1, /^sqlaio: ENOENT/],
    [[url], 2, /^sqlaio: no SQL: stdin was empty/],
  ]
  for (const [args, code, message] of cases) {
    const outcome = await cli(args, args.length === 1 ? '' : undefined)
    assert.equal(outcome.code, code, `${args.join(' ')}: ${outcome.stderr}`)
    assert.match(outcome.stderr, message)
    assert.equal(outcome.stderr.trimEnd().split('\n').length, 1, outcome.stderr)
  }
})

test('--timeout cancels the statement and exits with 124', async () => {
  const outcome = await cli(['sqlite://', ENDLESS_SQL, '--timeout', '300ms'])
  assert.equal(outcome.code, 124, outcome.stderr)
  assert.match(outcome.stderr, /^sqlaio: timed out after 0.3 s\n$/)
  // The statement would run for minutes: it ended because it was cancelled.
  assert.ok(outcome.elapsedMs < 60_000, `${outcome.elapsedMs} ms`)
})

/** Pids of running processes whose command line contains `text` (Linux's /proc; [] elsewhere). */
function pidsRunning(text: string): number[] {
  try {
    return readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text)
        } catch {
          return false
        }
      })
      .map(Number)
  } catch {
    return []
  }
}

/** Whether process `pid` has a file open whose path matches `pattern`. */
function hasFileOpen(pid: number, pattern: RegExp): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return pattern.test(readlinkSync(`/proc/${pid}/fd/${fd}`))
      } catch {
        return false
      }
    })
  } catch {
    return false
  }
}

/**
 * Calls `then` once one of `pids()` has its database open (a file named sqlaio-…): by then its
 * SIGINT handler is installed and its statement is on its way. Waits at most 30 s; where /proc
 * cannot tell (not Linux), that is a fixed 3 s.
 */
function whenDatabaseOpen(pids: () => number[], then: () => void): void {
  if (!existsSync('/proc/self/fd')) {
    setTimeout(then, 3000)
    return
  }
  const deadline = performance.now() + 30_000
  const poll = (): void => {
    if (pids().some((pid) => hasFileOpen(pid, /sqlaio-/)) || performance.now() > deadline)
      setTimeout(then, 200)
    else setTimeout(poll, 50)
  }
  poll()
}

test('SIGINT cancels the running statement and exits with 130', { timeout: 120_000 }, async () => {
  const outcome = await cli(['sqlite://', ENDLESS_SQL], undefined, (pid) => {
    whenDatabaseOpen(
      () => [pid],
      () => process.kill(pid, 'SIGINT'),
    )
  })
  assert.equal(outcome.code, 130, outcome.stderr)
  assert.match(outcome.stderr, /^sqlaio: cancelled \(Ctrl-C\)\n$/)
  // The statement would run for minutes: it ended because it was cancelled.
  assert.ok(outcome.elapsedMs < 60_000, `${outcome.elapsedMs} ms`)
})

test('a reader that stops early (| head) ends the command quietly', async () => {
  const shell = `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} sqlite:// "${countSql(2_000_000)}" | head -n 2; echo "status \${PIPESTATUS[0]}" >&2`
  const outcome = spawnSync('bash', ['-c', shell], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  assert.equal(outcome.stdout, 'x\r\n1\r\n')
  assert.equal(outcome.stderr, 'status 0\n')
})

/** Whether util-linux `script` is here to give the CLI a pseudo-terminal. */
const hasScript = ((): boolean => {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()

/** Runs the CLI inside a pseudo-terminal; `keys` are typed into it once its database is open. */
function inTerminal(args: string[], keys?: string): Promise<Outcome> {
  const command = [process.execPath, CLI, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ')
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qefc', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', (code) =>
      resolve({ code, stdout: Buffer.concat(out), stderr, elapsedMs: performance.now() - started }),
    )
    if (keys) {
      whenDatabaseOpen(
        () => pidsRunning(CLI),
        () => child.stdin.write(keys),
      )
    }
  })
}

test('on a terminal, stderr shows a progress line: rows, rows/s, bytes, elapsed', {
  skip: !hasScript,
}, async () => {
  const out = tempDbPath('progress.csv')
  const outcome = await inTerminal([
    'sqlite://',
    `${countSql(1_500_000)}`,
    '--out',
    out,
    '--batch-rows',
    '5000',
  ])
  assert.equal(outcome.code, 0, outcome.stderr)
  const terminal = outcome.stdout.toString()
  const lines = terminal.split('\r\x1b[K').filter((line) => line !== '')
  assert.ok(lines.length >= 2, JSON.stringify(terminal))
  for (const line of lines) assert.match(line, /^[\d,]+ rows · [\d,]+ rows\/s · [\d.]+ [kMG]?B · [\d.]+ s/)
  const bytes = readFileSync(out).byteLength
  assert.match(lines.at(-1)!, /^1,500,000 rows · /)
  assert.match(lines.at(-1)!, new RegExp(`· ${(bytes / 1e6).toFixed(1)} MB ·`))
})

test('on a terminal, Ctrl-C cancels the running statement and exits with 130', {
  skip: !hasScript,
  timeout: 120_000,
}, async () => {
  const outcome = await inTerminal(['sqlite://', ENDLESS_SQL], '\x03')
  assert.equal(outcome.code, 130, outcome.stdout.toString())
  assert.match(outcome.stdout.toString(), /sqlaio: cancelled \(Ctrl-C\)/)
  // The statement would run for minutes: it ended because it was cancelled.
  assert.ok(outcome.elapsedMs < 60_000, `${outcome.elapsedMs} ms`)
})
