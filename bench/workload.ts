/**
 * From a case's spec to its contenders, the rows every run must produce, and the baselines its
 * ratios are taken against.
 */
import type { CaseSpec } from './cases.js'
import type { ContenderEntry } from './contender.js'
import { refDatabase } from './data.js'
import {
  CONCURRENT_BASELINES,
  CONCURRENT_POINT_BASELINES,
  concurrentContenders,
  concurrentPointContenders,
} from './workloads/concurrent.js'
import { INSERT_BASELINES, insertContenders } from './workloads/insert.js'
import { KYSELY_BASELINES, kyselyContenders, kyselyPoint, kyselyScan } from './workloads/kysely.js'
import { LATENCY_BASELINES, latencyContenders, latencyQuery } from './workloads/latency.js'
import { PG_BASELINES, pgClientsContenders, pgScanContenders, pgSelect1Contenders } from './workloads/pg.js'
import { SCAN_BASELINES, scanContenders } from './workloads/scan.js'
import { streamContenders, streamSql } from './workloads/stream.js'

export interface Workload {
  contenders: ContenderEntry[]
  rowsPerRun: number
  baselines: string[]
}

export function workload(spec: CaseSpec): Workload {
  switch (spec.kind) {
    case 'scan':
      return {
        contenders: scanContenders(refDatabase(spec.rows)),
        rowsPerRun: spec.rows,
        baselines: SCAN_BASELINES,
      }
    case 'latency': {
      const query = latencyQuery(spec.query, spec.rows, spec.calls)
      return {
        contenders: latencyContenders(refDatabase(spec.rows), query),
        rowsPerRun: spec.calls,
        baselines: LATENCY_BASELINES,
      }
    }
    case 'concurrent':
      return {
        contenders: concurrentContenders(refDatabase(spec.rows), spec.connections),
        rowsPerRun: spec.rows * spec.connections,
        baselines: CONCURRENT_BASELINES,
      }
    case 'concurrent-point':
      return {
        contenders: concurrentPointContenders(
          refDatabase(spec.rows),
          latencyQuery('point', spec.rows, spec.calls),
          spec.connections,
        ),
        rowsPerRun: spec.calls,
        baselines: CONCURRENT_POINT_BASELINES,
      }
    case 'insert':
      return {
        contenders: insertContenders(spec.rows, spec.calls),
        rowsPerRun: spec.rows,
        baselines: INSERT_BASELINES,
      }
    case 'stream':
      return {
        contenders: streamContenders(refDatabase(spec.rows), streamSql(spec.rows, spec.copies)),
        rowsPerRun: spec.rows * spec.copies,
        baselines: [],
      }
    case 'kysely-scan':
      return {
        contenders: kyselyContenders(refDatabase(spec.rows), kyselyScan, true),
        rowsPerRun: spec.rows,
        baselines: KYSELY_BASELINES,
      }
    case 'kysely-point':
      return {
        contenders: kyselyContenders(refDatabase(spec.rows), kyselyPoint(spec.rows, spec.calls), false),
        rowsPerRun: spec.calls,
        baselines: KYSELY_BASELINES,
      }
    case 'pg-scan':
      return { contenders: pgScanContenders(), rowsPerRun: spec.rows, baselines: PG_BASELINES }
    case 'pg-select1':
      return { contenders: pgSelect1Contenders(spec.calls), rowsPerRun: spec.calls, baselines: PG_BASELINES }
    case 'pg-clients':
      return {
        contenders: pgClientsContenders(spec.query, spec.clients, spec.calls, spec.rows),
        rowsPerRun: spec.clients * spec.calls,
        baselines: [],
      }
  }
}
