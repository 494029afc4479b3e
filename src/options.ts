/**
 * Engine and call options: their defaults, and validation that names the option at fault.
 */
import { isAbsolute, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { ResourceLimits } from 'node:worker_threads'
import type { IntMode, RowMode } from './arrow/row-decoder.js'
import type { CancelOptions } from './cancel.js'

/**
 * Called after each statement, like SQLAlchemy's `echo`.
 *
 * @example
 * ```ts
 * const engine = createEngine('sqlite:///app.db', {
 *   logger: (sql, params, ms) => console.debug(`${ms.toFixed(1)} ms  ${sql}`, params),
 * })
 * ```
 */
export type Logger = (sql: string, params: unknown, elapsedMs: number) => void

/**
 * Options of `createEngine`. All are optional; a bad value throws a TypeError or RangeError
 * naming the option.
 *
 * @example
 * ```ts
 * const engine = createEngine('sqlite:///app.db', { batchRows: 65_536, intMode: 'bigint', timeoutMs: 30_000 })
 * ```
 */
export interface EngineOptions {
  /** Rows per record batch (default 16384). */
  batchRows?: number
  /** Batches a result may have in flight, unread, before the worker waits (default 4). */
  prefetchBatches?: number
  /** Idle connection workers kept for reuse (default 5). */
  poolSize?: number
  /** How long an idle pooled worker lives, in ms (default 30000). */
  idleTimeoutMs?: number
  /** How integers are returned in rows (default 'number'; out-of-range values reject). */
  intMode?: IntMode
  /** Rows as objects keyed by column name (default) or as arrays. */
  rowMode?: RowMode
  /** How long a statement waits for a locked database, in ms (default 5000). */
  busyTimeoutMs?: number
  /** Open the database read-only. */
  readonly?: boolean
  /** Fail instead of creating a missing database file. */
  fileMustExist?: boolean
  /** Path or file URL of a module whose default export is called with each worker's raw Database. */
  setup?: string | URL
  /** Whether to use the native fast path: 'auto' (default) uses it when it loads. */
  native?: 'auto' | 'off' | 'require'
  /** Called with each statement's sql, params and elapsed milliseconds. */
  logger?: Logger
  /** Default deadline of every call, in ms (default 0: none). A call's own `timeoutMs` wins. */
  timeoutMs?: number
  /** Memory limits of each worker thread (see `worker_threads.ResourceLimits`). */
  resourceLimits?: ResourceLimits
}

export interface ResolvedEngineOptions {
  batchRows: number
  prefetchBatches: number
  poolSize: number
  idleTimeoutMs: number
  intMode: IntMode
  rowMode: RowMode
  busyTimeoutMs: number
  readonly: boolean
  fileMustExist: boolean
  setup: string | null
  native: 'auto' | 'off' | 'require'
  logger: Logger | null
  timeoutMs: number
  resourceLimits: ResourceLimits | null
}

/**
 * Options of one `execute` call. `signal` aborts the call and closes its result; `timeoutMs`
 * bounds the time until the statement has started (its first batch is ready).
 *
 * @example
 * ```ts
 * const result = await engine.execute('SELECT * FROM big', [], { batchRows: 100_000, rowMode: 'array' })
 * ```
 */
export interface ExecuteOptions extends CancelOptions {
  /** Rows as objects or arrays, for this result (default: the engine's `rowMode`). */
  rowMode?: RowMode
  /** Integers as numbers or bigints, for this result (default: the engine's `intMode`). */
  intMode?: IntMode
  /** Rows per record batch, for this result (default: the engine's `batchRows`). */
  batchRows?: number
}

const KNOWN = new Set([
  'batchRows',
  'prefetchBatches',
  'poolSize',
  'idleTimeoutMs',
  'intMode',
  'rowMode',
  'busyTimeoutMs',
  'readonly',
  'fileMustExist',
  'setup',
  'native',
  'logger',
  'timeoutMs',
  'resourceLimits',
])

export function checkInteger(where: string, name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`${where}: option "${name}" must be an integer, got ${describe(value)}`)
  }
  if (value < min || value > max) {
    throw new RangeError(`${where}: option "${name}" must be between ${min} and ${max}, got ${value}`)
  }
  return value
}

export function checkChoice<T extends string>(
  where: string,
  name: string,
  value: unknown,
  choices: readonly T[],
): T {
  if (!choices.includes(value as T)) {
    const list = choices.map((c) => `'${c}'`).join(', ')
    throw new TypeError(`${where}: option "${name}" must be one of ${list}, got ${describe(value)}`)
  }
  return value as T
}

function checkBoolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') {
    throw new TypeError(`createEngine: option "${name}" must be a boolean, got ${describe(value)}`)
  }
  return value
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (value === null) return 'null'
  if (typeof value === 'object' || typeof value === 'function') return typeof value
  return String(value)
}

/** A module specifier a worker can import: absolute file URL for paths, as-is for URLs. */
export function toModuleUrl(where: string, name: string, module: unknown): string {
  if (module instanceof URL) return module.href
  if (typeof module !== 'string' || module === '') {
    throw new TypeError(`${where}: "${name}" must be a path or a URL, got ${describe(module)}`)
  }
  if (/^(file|data|node):/.test(module)) return module
  return pathToFileURL(isAbsolute(module) ? module : resolve(module)).href
}

const MAX_INT = 2 ** 31 - 1

export function resolveEngineOptions(options: EngineOptions | undefined): ResolvedEngineOptions {
  if (options === undefined) options = {}
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`createEngine: options must be an object, got ${describe(options)}`)
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new TypeError(`createEngine: unknown option "${key}"`)
  }
  const o = options
  const where = 'createEngine'
  const logger = o.logger ?? null
  if (logger !== null && typeof logger !== 'function') {
    throw new TypeError(`createEngine: option "logger" must be a function, got ${describe(logger)}`)
  }
  return {
    batchRows: o.batchRows === undefined ? 16384 : checkInteger(where, 'batchRows', o.batchRows, 1, 1 << 24),
    prefetchBatches:
      o.prefetchBatches === undefined
        ? 4
        : checkInteger(where, 'prefetchBatches', o.prefetchBatches, 1, 1024),
    poolSize: o.poolSize === undefined ? 5 : checkInteger(where, 'poolSize', o.poolSize, 0, 1024),
    idleTimeoutMs:
      o.idleTimeoutMs === undefined
        ? 30_000
        : checkInteger(where, 'idleTimeoutMs', o.idleTimeoutMs, 0, MAX_INT),
    intMode:
      o.intMode === undefined ? 'number' : checkChoice(where, 'intMode', o.intMode, ['number', 'bigint']),
    rowMode:
      o.rowMode === undefined ? 'object' : checkChoice(where, 'rowMode', o.rowMode, ['object', 'array']),
    busyTimeoutMs:
      o.busyTimeoutMs === undefined
        ? 5000
        : checkInteger(where, 'busyTimeoutMs', o.busyTimeoutMs, 0, MAX_INT),
    readonly: o.readonly === undefined ? false : checkBoolean('readonly', o.readonly),
    fileMustExist: o.fileMustExist === undefined ? false : checkBoolean('fileMustExist', o.fileMustExist),
    setup: o.setup === undefined ? null : toModuleUrl(where, 'option "setup"', o.setup),
    native:
      o.native === undefined ? 'auto' : checkChoice(where, 'native', o.native, ['auto', 'off', 'require']),
    logger,
    timeoutMs: o.timeoutMs === undefined ? 0 : checkInteger(where, 'timeoutMs', o.timeoutMs, 0, MAX_INT),
    resourceLimits: checkResourceLimits(o.resourceLimits),
  }
}

function checkResourceLimits(limits: unknown): ResourceLimits | null {
  if (limits === undefined) return null
  if (typeof limits !== 'object' || limits === null) {
    throw new TypeError(`createEngine: option "resourceLimits" must be an object, got ${describe(limits)}`)
  }
  const known = ['maxOldGenerationSizeMb', 'maxYoungGenerationSizeMb', 'codeRangeSizeMb', 'stackSizeMb']
  for (const [key, value] of Object.entries(limits)) {
    if (!known.includes(key)) throw new TypeError(`createEngine: unknown resourceLimits field "${key}"`)
    if (typeof value !== 'number' || !(value > 0)) {
      throw new RangeError(
        `createEngine: resourceLimits.${key} must be a positive number, got ${describe(value)}`,
      )
    }
  }
  return limits as ResourceLimits
}
