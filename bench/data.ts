/**
 * The reference data of the performance budgets (1M rows: id, a INTEGER, b REAL, c TEXT, d TEXT 10% NULL, e BLOB), generated once per size from a fixed seed and cached under
 * bench/data/, so every contender of every run reads the same bytes.
 */
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'

/** bench/data/ in the source tree (the compiled file lives in dist/bench/). */
export const DATA_DIR = fileURLToPath(new URL('../../bench/data/', import.meta.url))

/** Bump when the generator changes, so stale cached files are not reused. */
const FORMAT = 1
const SEED = 0x5eed

export const TABLE_SQL =
  'CREATE TABLE ref (id INTEGER PRIMARY KEY, a INTEGER, b REAL, c TEXT, d TEXT, e BLOB)'

/** mulberry32: a tiny deterministic PRNG; quality is irrelevant here, reproducibility is not. */
export function prng(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 '

function text(random: () => number, min: number, max: number): string {
  const length = min + Math.floor(random() * (max - min + 1))
  let s = ''
  for (let i = 0; i < length; i++) s += ALPHABET[Math.floor(random() * ALPHABET.length)]
  return s
}

/** Row `id` of the reference data, without the id: [a, b, c, d, e]. */
export type RefRow = [number, number, string, string | null, Buffer]

/** Yields `count` reference rows from a generator seeded with `seed`. */
export function* refRows(count: number, seed = SEED): Generator<RefRow> {
  const random = prng(seed)
  for (let i = 0; i < count; i++) {
    const a = Math.floor(random() * 2 ** 40) - 2 ** 39
    const b = (random() - 0.5) * 1e6
    const c = text(random, 10, 30)
    const d = random() < 0.1 ? null : text(random, 10, 30)
    const e = Buffer.alloc(16)
    for (let j = 0; j < 16; j += 4) e.writeUInt32LE(Math.floor(random() * 2 ** 32), j)
    yield [a, b, c, d, e]
  }
}

/** Path of the cached reference database with `rows` rows, generating it first if needed. */
export function refDatabase(rows: number): string {
  const path = join(DATA_DIR, `ref-v${FORMAT}-${rows}.db`)
  if (existsSync(path)) return path
  mkdirSync(DATA_DIR, { recursive: true })
  // Build under a temporary name and rename: an interrupted run never leaves a partial cache.
  const partial = `${path}.partial`
  rmSync(partial, { force: true })
  const db = new Database(partial)
  db.pragma('journal_mode = OFF')
  db.exec(TABLE_SQL)
  const insert = db.prepare('INSERT INTO ref (id, a, b, c, d, e) VALUES (?, ?, ?, ?, ?, ?)')
  db.transaction(() => {
    let id = 1
    for (const row of refRows(rows)) insert.run(id++, ...row)
  })()
  db.close()
  renameSync(partial, path)
  return path
}
