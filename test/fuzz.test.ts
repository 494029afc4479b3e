/**
 * Hostile input (issue 5): random SQL text and random parameter values. Every call settles
 * with a result or a clear error (an Error with a message: TypeError, RangeError, DatabaseError
 * or another sqlaio error), never hangs and never kills the worker, and the same connection then
 * answers `SELECT 1` correctly (no desynchronised replies). Bounded runs; FUZZ_SEED replays one.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { type Connection, type Engine, WorkerCrashedError } from '../src/index.js'
import { tempEngine } from './helpers.js'

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined
const RUNS = Number(process.env.FUZZ_RUNS ?? 150)
/** A call that has not settled after this long is a hang. */
const SETTLE_MS = 15_000

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c))
const nastyString = fc
  .array(
    fc.oneof(
      fc.string({ unit: 'binary', maxLength: 8 }),
      loneSurrogate,
      fc.constantFrom('\0', "'", '"', ';'),
    ),
    {
      maxLength: 12,
    },
  )
  .map((parts) => parts.join(''))

const KEYWORDS = [
  'SELECT',
  'FROM',
  'WHERE',
  'INSERT',
  'INTO',
  'VALUES',
  'UPDATE',
  'SET',
  'DELETE',
  'CREATE',
  'TABLE',
  'DROP',
  'BEGIN',
  'COMMIT',
  'ROLLBACK',
  'SAVEPOINT',
  'RELEASE',
  'WITH',
  'RECURSIVE',
  'AS',
  'UNION',
  'ALL',
  'JOIN',
  'ON',
  'GROUP',
  'BY',
  'ORDER',
  'LIMIT',
  'OFFSET',
  'CASE',
  'WHEN',
  'THEN',
  'END',
  'NULL',
  'NOT',
  'AND',
  'OR',
  'IN',
  'LIKE',
  'GLOB',
  'CAST',
  'PRAGMA',
  'ATTACH',
  'VACUUM',
  'RETURNING',
  'EXPLAIN',
  'zeroblob',
  'randomblob',
  'printf',
  'json',
  'sqlite_schema',
  't',
  'x',
  'count(*)',
]
const PUNCTUATION = [
  '(',
  ')',
  ',',
  ';',
  '*',
  '+',
  '-',
  '/',
  '=',
  '<>',
  '||',
  '.',
  '?',
  ':a',
  '@b',
  '$c',
  '?1',
  "'",
  '"',
]
const token = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...KEYWORDS) },
  { weight: 4, arbitrary: fc.constantFrom(...PUNCTUATION) },
  { weight: 2, arbitrary: fc.integer().map(String) },
  { weight: 1, arbitrary: fc.double().map(String) },
  { weight: 1, arbitrary: nastyString.map((s) => `'${s.replaceAll("'", "''")}'`) },
  { weight: 1, arbitrary: nastyString },
)
const tokenSql = fc.array(token, { maxLength: 40 }).map((tokens) => tokens.join(' '))
const nestedSql = fc
  .tuple(fc.integer({ min: 1, max: 2500 }), fc.constantFrom('(', 'abs(', 'json_array(', '-('))
  .map(([depth, open]) => `SELECT ${open.repeat(depth)}1${')'.repeat(depth)}`)
const selectWithParams = fc
  .array(fc.constantFrom('?', ':a', '@b', '$c', '?2'), { minLength: 1, maxLength: 4 })
  .map((marks) => `SELECT ${marks.join(', ')}`)
const sqlText = fc.oneof(
  { weight: 4, arbitrary: tokenSql },
  { weight: 2, arbitrary: selectWithParams },
  { weight: 1, arbitrary: nestedSql },
  { weight: 1, arbitrary: nastyString },
  {
    weight: 1,
    arbitrary: fc.constantFrom('', ';', ';;;', '\0', 'SELECT 1; SELECT 2', '/*', '--', 'SELECT "'),
  },
)

function deepObject(depth: number): unknown {
  let value: unknown = { leaf: true }
  for (let i = 0; i < depth; i++) value = { nested: value, list: [value] }
  return value
}

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    undefined,
    null,
    Number.NaN,
    -0,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    2 ** 53 + 1,
    2n ** 63n,
    -(2n ** 63n) - 1n,
    2n ** 200n,
    true,
    false,
    Symbol('s'),
    () => 1,
    new Date(0),
    new Map([[1, 2]]),
    new Set([1]),
    /re/g,
    new Error('e'),
    new ArrayBuffer(4),
    new Uint16Array([1, 2]),
    new Float64Array([1.5]),
    Promise.resolve(1),
    new Proxy(
      {},
      {
        get: () => {
          throw new Error('proxy trap')
        },
      },
    ),
    Object.create(null),
  ),
  fc.integer(),
  fc.double(),
  fc.bigInt(),
  nastyString,
  fc.uint8Array({ maxLength: 64 }),
  fc.integer({ min: 1, max: 3000 }).map(deepObject),
  fc.integer({ min: 0, max: 200_000 }).map((n) => new Array(n).fill(7)),
  fc.anything(),
)
const hostileParams: fc.Arbitrary<unknown> = fc.oneof(
  fc.array(hostileValue, { maxLength: 5 }),
  fc.record({ a: hostileValue, b: hostileValue, c: hostileValue }, { requiredKeys: [] }),
  hostileValue,
)

type Call = (db: Engine | Connection) => Promise<unknown>

const hostileCall: fc.Arbitrary<{ label: string; call: Call }> = fc.oneof(
  fc.tuple(sqlText, hostileParams).map(([sql, params]) => ({
    label: `execute ${JSON.stringify(sql.slice(0, 80))}`,
    call: async (db: Engine | Connection) => {
      const result = await db.execute(sql, params as never)
      try {
        if (result.returnsRows) await result.fetchall()
      } finally {
        result.close()
      }
    },
  })),
  fc.tuple(sqlText, hostileParams).map(([sql, params]) => ({
    label: `scalar ${JSON.stringify(sql.slice(0, 80))}`,
    call: (db: Engine | Connection) => db.scalar(sql, params as never),
  })),
  sqlText.map((sql) => ({
    label: `exec ${JSON.stringify(sql.slice(0, 80))}`,
    call: (db: Engine | Connection) => db.exec(sql),
  })),
  fc.tuple(sqlText, fc.oneof(fc.array(hostileParams, { maxLength: 4 }), hostileValue)).map(([sql, list]) => ({
    label: `executeMany ${JSON.stringify(sql.slice(0, 80))}`,
    call: (db: Engine | Connection) => db.executeMany(sql, list as never),
  })),
  fc.tuple(hostileValue, hostileParams).map(([sql, params]) => ({
    label: `execute with a non-string statement (${typeof sql})`,
    call: (db: Engine | Connection) => db.execute(sql as never, params as never),
  })),
)

/** Settles `promise`, or fails the property if it does not settle in time (a hang). */
async function settleOrHang(promise: Promise<unknown>, label: string): Promise<{ error?: unknown }> {
  let timer: NodeJS.Timeout | undefined
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hang: ${label} did not settle in ${SETTLE_MS} ms`)), SETTLE_MS)
  })
  try {
    return await Promise.race([
      promise.then(
        () => ({}),
        (error: unknown) => ({ error }),
      ),
      hang,
    ])
  } finally {
    clearTimeout(timer)
  }
}

function assertClearError(error: unknown, label: string): void {
  assert.ok(error instanceof Error, `${label}: rejected with a non-Error ${String(error)}`)
  assert.equal(typeof error.message, 'string')
  assert.ok(error.message.length > 0, `${label}: ${error.name} without a message`)
  assert.ok(!(error instanceof WorkerCrashedError), `${label}: the worker crashed: ${error.message}`)
}

async function fuzz(db: Engine | Connection, seedOffset: number): Promise<Map<string, number>> {
  const seen = new Map<string, number>()
  await fc.assert(
    fc.asyncProperty(hostileCall, async ({ label, call }) => {
      let outcome: { error?: unknown }
      try {
        outcome = await settleOrHang(call(db), label)
      } catch (error) {
        outcome = { error } // a synchronous throw is a clear error too, if it is one
      }
      if (outcome.error !== undefined) {
        assertClearError(outcome.error, label)
        const name = (outcome.error as Error).name
        seen.set(name, (seen.get(name) ?? 0) + 1)
      } else seen.set('ok', (seen.get('ok') ?? 0) + 1)
      // The connection survives and is in step: the next call gets its own answer.
      if ('inTransaction' in db && db.inTransaction) await db.exec('ROLLBACK')
      assert.equal(await db.scalar('SELECT 1 AS one'), 1, `${label}: SELECT 1 answered wrongly afterwards`)
    }),
    { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED + seedOffset }), endOnFailure: true },
  )
  return seen
}

test('fuzz: random SQL and hostile parameters on a connection', async () => {
  const engine = tempEngine()
  await engine.exec('CREATE TABLE t (x); CREATE TABLE y (a, b, c)')
  const conn = await engine.connect()
  const seen = await fuzz(conn, 0)
  console.log('outcomes on a connection:', Object.fromEntries(seen))
  assert.equal(conn.closed, false)
  assert.equal(await conn.scalar('SELECT 2'), 2)
  await conn.close()
})

test('fuzz: random SQL and hostile parameters on the engine worker', async () => {
  const engine = tempEngine()
  await engine.exec('CREATE TABLE t (x)')
  const seen = await fuzz(engine, 1)
  console.log('outcomes on the engine:', Object.fromEntries(seen))
  assert.equal(await engine.scalar('SELECT 3'), 3)
})

test('deep nesting: 2,000 nested parentheses and a deep JSON value settle with clear errors or results', async () => {
  const engine = tempEngine()
  const conn = await engine.connect()
  for (const sql of [
    `SELECT ${'('.repeat(2000)}1${')'.repeat(2000)}`,
    `SELECT ${'abs('.repeat(2000)}1${')'.repeat(2000)}`,
    `SELECT json('${'['.repeat(2000)}${']'.repeat(2000)}')`,
    `SELECT ${Array.from({ length: 2000 }, (_, i) => `CASE WHEN ${i} THEN `).join('')}1${' END'.repeat(2000)}`,
  ]) {
    const outcome = await settleOrHang(conn.scalar(sql), sql.slice(0, 30))
    if (outcome.error !== undefined) assertClearError(outcome.error, sql.slice(0, 30))
    assert.equal(await conn.scalar('SELECT 1'), 1)
  }
  // A deep object as a parameter is refused without crashing anything.
  const outcome = await settleOrHang(conn.scalar('SELECT ?', [deepObject(100_000)]), 'deep object')
  assert.ok(outcome.error instanceof TypeError)
  assert.equal(await conn.scalar('SELECT 1'), 1)
  await conn.close()
})
