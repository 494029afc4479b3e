/**
 * The table view for a terminal, like psql's: a header, aligned columns (numbers to the right),
 * NULL spelled out, long or multi-line values shortened to one line. Rows are read a page at a
 * time, so a large result prints as it arrives; column widths come from the first page.
 */
import type { AsyncResult } from '../index.js'
import type { Sink } from '../io/sink.js'

const PAGE_ROWS = 500
const MAX_WIDTH = 48

function display(value: unknown): string {
  if (value === null || value === undefined) return 'NULL'
  if (value instanceof Uint8Array) return `x'${Buffer.from(value).toString('hex')}'`
  const text = String(value)
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is escaped
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1))
}

function fit(text: string, width: number, right: boolean): string {
  const chars = [...text]
  if (chars.length > width) return `${chars.slice(0, width - 1).join('')}…`
  const pad = ' '.repeat(width - chars.length)
  return right ? pad + text : text + pad
}

export interface TableOptions {
  signal: AbortSignal
  /** Called after each page is written: rows and bytes so far. */
  onProgress(rows: number, bytes: number): void
  /** Called before each page is written (to clear a progress line on the same terminal). */
  beforeWrite(): void
}

/** Writes the rows of `result` (fetched as arrays) as a table to `sink`; resolves with the row count. */
export async function writeTable(result: AsyncResult, sink: Sink, options: TableOptions): Promise<number> {
  const names = result.keys()
  let widths: number[] = []
  let right: boolean[] = []
  let rows = 0
  const line = (cells: string[]): string =>
    ` ${cells.map((cell, c) => fit(cell, widths[c]!, right[c]!)).join(' | ')}\n`
  for (;;) {
    const page = await result.fetchmany<unknown[]>(PAGE_ROWS, { signal: options.signal })
    let text = ''
    if (rows === 0) {
      const cells = page.map((row) => row.map(display))
      widths = names.map((name, c) =>
        Math.min(MAX_WIDTH, Math.max([...name].length, ...cells.map((row) => [...row[c]!].length))),
      )
      right = names.map(
        (_, c) =>
          page.some((row) => row[c] !== null) &&
          page.every((row) => row[c] === null || typeof row[c] === 'number' || typeof row[c] === 'bigint'),
      )
      text += line(names)
      text += `${widths.map((w) => '-'.repeat(w + 2)).join('+')}\n`
    }
    for (const row of page) text += line(row.map(display))
    rows += page.length
    if (page.length === 0) text += `(${rows} ${rows === 1 ? 'row' : 'rows'})\n`
    options.beforeWrite()
    await sink.write(Buffer.from(text))
    options.onProgress(rows, sink.bytes)
    if (page.length === 0) return rows
  }
}
