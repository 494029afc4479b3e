/**
 * A least-recently-used cache of prepared statements keyed by SQL text, as both the better-sqlite3
 * driver and the native reader keep one per connection. A Map iterates in insertion order, so
 * re-inserting on every hit keeps the least recently used entry first, where eviction takes it.
 */
export class StatementCache<T> {
  readonly #entries = new Map<string, T>()
  readonly #capacity: number
  readonly #evicted: (statement: T) => void

  /** `evicted` is called with each statement pushed out by a newer one (not by `clear`). */
  constructor(capacity: number, evicted: (statement: T) => void = () => {}) {
    this.#capacity = capacity
    this.#evicted = evicted
  }

  /** The statement cached for `sql`, now the most recently used; undefined when none. */
  get(sql: string): T | undefined {
    const cached = this.#entries.get(sql)
    if (cached !== undefined) {
      this.#entries.delete(sql)
      this.#entries.set(sql, cached)
    }
    return cached
  }

  /** Caches `statement` for `sql`, evicting the least recently used one beyond capacity. */
  set(sql: string, statement: T): void {
    this.#entries.set(sql, statement)
    if (this.#entries.size > this.#capacity) {
      const [oldestSql, oldest] = this.#entries.entries().next().value as [string, T]
      this.#entries.delete(oldestSql)
      this.#evicted(oldest)
    }
  }

  /** Forgets every statement (without calling `evicted`). */
  clear(): void {
    this.#entries.clear()
  }
}
