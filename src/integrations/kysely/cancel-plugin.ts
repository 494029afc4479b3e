/**
 * Kysely 0.28 hands a driver no abort signal, so a query's cancellation rides on its `queryId`:
 * this plugin records the options of every query it sees, and the driver looks them up.
 */
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryId } from 'kysely'
import type { CancelOptions } from '../../index.js'

const byQuery = new WeakMap<QueryId, CancelOptions>()

/** The cancellation options a CancelPlugin attached to this query, if any. */
export function cancelOptionsOf(queryId: QueryId): CancelOptions | undefined {
  return byQuery.get(queryId)
}

/**
 * A Kysely plugin that cancels the queries run through it: when `signal` aborts (or `timeoutMs`
 * passes before the statement has started), the running statement is interrupted in its worker
 * and the query rejects with sqlaio's AbortError (or TimeoutError). A stream stops the same way.
 *
 * @example
 * ```ts
 * const controller = new AbortController()
 * setTimeout(() => controller.abort(), 100)
 * const rows = await db
 *   .withPlugin(new CancelPlugin({ signal: controller.signal }))
 *   .selectFrom('events')
 *   .selectAll()
 *   .execute()
 * ```
 */
export class CancelPlugin implements KyselyPlugin {
  readonly #options: CancelOptions

  /** @param options an AbortSignal, or `{ signal, timeoutMs }`. */
  constructor(options: CancelOptions | AbortSignal) {
    this.#options = options instanceof AbortSignal ? { signal: options } : { ...options }
  }

  /**
   * Records the query's cancel options under its `queryId` for the driver; the query itself
   * passes through unchanged.
   *
   * @example
   * ```ts
   * db.withPlugin(new CancelPlugin({ timeoutMs: 5_000 })) // Kysely calls this for each query
   * ```
   */
  transformQuery(args: PluginTransformQueryArgs): PluginTransformQueryArgs['node'] {
    byQuery.set(args.queryId, this.#options)
    return args.node
  }

  /**
   * Returns the result unchanged: cancellation only needs the query side.
   *
   * @example
   * ```ts
   * const rows = await db.withPlugin(new CancelPlugin(signal)).selectFrom('t').selectAll().execute()
   * ```
   */
  async transformResult(args: PluginTransformResultArgs): Promise<PluginTransformResultArgs['result']> {
    return args.result
  }
}
