/**
 * RecordBatches whose columns may share a name. A SQL result may repeat a column name
 * (`SELECT 1 AS a, 'x' AS a`, or PostgreSQL's `?column?` for every unnamed expression), and
 * apache-arrow's RecordBatch constructor rebuilds the schema it is given with `Schema.assign`,
 * which merges fields by name: every column of a repeated name took the last one's type, and
 * reading the first through the Table failed. The batch keeps the schema as given instead.
 */
import { type Data, RecordBatch, type Schema, type Struct } from 'apache-arrow'

/** A RecordBatch of `schema` over `data` (a Struct whose children all have its length). */
export function recordBatch(schema: Schema, data: Data<Struct>): RecordBatch {
  const batch = new RecordBatch(schema, data)
  // Every child already has the batch's length, so the constructor changed nothing else.
  ;(batch as { schema: Schema }).schema = schema
  return batch
}
