/**
 * The description of each statement a connection ran (parameter count, result columns), by
 * statement text, so that running it again takes one server round trip instead of two. The
 * server's answer is still checked on every run (the portal's own RowDescription comes before
 * its rows), so a stale entry never decodes wrong: it costs a retry or a clear error.
 */
import type { PgField } from './load.js'

export interface Description {
  paramCount: number
  /** The result columns; null for a statement that returns no rows. */
  fields: PgField[] | null
}

/** Entries kept per connection; the least recently used goes first. */
const CAPACITY = 256

export class DescriptionCache {
  readonly #entries = new Map<string, Description>()

  get(sql: string): Description | undefined {
    const entry = this.#entries.get(sql)
    if (entry) {
      // Map order is insertion order: re-inserting marks the entry as the most recent.
      this.#entries.delete(sql)
      this.#entries.set(sql, entry)
    }
    return entry
  }

  set(sql: string, entry: Description): void {
    this.#entries.delete(sql)
    this.#entries.set(sql, entry)
    if (this.#entries.size > CAPACITY) this.#entries.delete(this.#entries.keys().next().value!)
  }

  delete(sql: string): void {
    this.#entries.delete(sql)
  }

  clear(): void {
    this.#entries.clear()
  }
}

/** Whether two column lists describe the same types in the same order. */
export function sameColumns(a: readonly PgField[], b: readonly PgField[]): boolean {
  return (
    a.length === b.length &&
    a.every((f, i) => f.dataTypeID === b[i]!.dataTypeID && f.dataTypeModifier === b[i]!.dataTypeModifier)
  )
}
