/**
 * The stress suite's oracle: what must be committed, tracked in memory while the database is
 * hammered. Each task owns its rows (no other task touches them) and the tasks share one counter
 * row that they change only by adding deltas (which commute), so the model never depends on the
 * order in which concurrent commits happen to be observed.
 *
 * A transaction is a stack of layers (one per open savepoint) of pending changes; a layer merges
 * into the one below when its savepoint is released, and the bottom layer into the committed
 * state when COMMIT resolves.
 */

/** Pending changes of one layer: row id → value, or null for a deleted row; and a counter delta. */
export interface Layer {
  rows: Map<number, number | null>
  counter: number
}

export function newLayer(): Layer {
  return { rows: new Map(), counter: 0 }
}

/** The committed rows of one task (id → value). */
export class TaskModel {
  readonly committed = new Map<number, number>()
  /** Open transaction layers on the task's connection (empty when none). */
  layers: Layer[] = []

  /** The task's rows as its own connection sees them (committed + its open transaction). */
  view(): Map<number, number> {
    const view = new Map(this.committed)
    for (const layer of this.layers) {
      for (const [id, value] of layer.rows) {
        if (value === null) view.delete(id)
        else view.set(id, value)
      }
    }
    return view
  }

  get inTransaction(): boolean {
    return this.layers.length > 0
  }

  top(): Layer {
    const layer = this.layers.at(-1)
    if (!layer) throw new Error('model: no open transaction')
    return layer
  }

  /** Folds the top layer into the one below (RELEASE SAVEPOINT). */
  release(): void {
    const top = this.layers.pop()
    const below = this.layers.at(-1)
    if (!top || !below) throw new Error('model: release without a savepoint')
    for (const [id, value] of top.rows) below.rows.set(id, value)
    below.counter += top.counter
  }

  /** Drops the top layer (ROLLBACK TO + RELEASE SAVEPOINT). */
  rollbackTop(): void {
    this.layers.pop()
  }

  /** COMMIT resolved: returns the counter delta to add to the shared counter. */
  commit(): number {
    const [bottom] = this.layers
    if (!bottom || this.layers.length !== 1) throw new Error('model: commit with open savepoints')
    this.layers = []
    for (const [id, value] of bottom.rows) {
      if (value === null) this.committed.delete(id)
      else this.committed.set(id, value)
    }
    return bottom.counter
  }

  /** The transaction ended without commit (rollback, crash, SQLite's own rollback). */
  abandon(): void {
    this.layers = []
  }

  /** Applies an autocommit change at once. */
  apply(layer: Layer): number {
    this.layers = [layer]
    return this.commit()
  }
}

/** mulberry32: a small seeded PRNG, so a run's choices can be replayed from its seed. */
export class Random {
  #state: number

  constructor(seed: number) {
    this.#state = seed >>> 0
  }

  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0
    let t = this.#state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n)
  }

  chance(p: number): boolean {
    return this.next() < p
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)]
    if (item === undefined) throw new Error('pick from an empty list')
    return item
  }

  /** Picks a key by weight. */
  weighted<K extends string>(weights: Record<K, number>): K {
    const entries = Object.entries(weights) as [K, number][]
    const total = entries.reduce((sum, [, w]) => sum + w, 0)
    let r = this.next() * total
    for (const [key, w] of entries) {
      r -= w
      if (r < 0) return key
    }
    return entries[entries.length - 1]![0]
  }
}
