/**
 * The SQL `insertArrow` runs, in the engine's dialect: a `CREATE TABLE IF NOT EXISTS` from an
 * Arrow schema, and an INSERT binding the schema's columns by position.
 *
 * | Arrow type                      | SQLite (affinity) | PostgreSQL                       |
 * | ------------------------------- | ----------------- | -------------------------------- |
 * | Int8, Int16, Uint8              | INTEGER           | smallint                         |
 * | Int32, Uint16                   | INTEGER           | integer                          |
 * | Int64, Uint32                   | INTEGER           | bigint                           |
 * | Uint64                          | INTEGER           | numeric(20, 0)                   |
 * | Float16, Float32 / Float64      | REAL              | real / double precision          |
 * | Bool                            | INTEGER           | boolean                          |
 * | Binary, LargeBinary, FixedSize  | BLOB              | bytea                            |
 * | Date (day) / Date (millisecond) | TEXT              | date / timestamptz               |
 * | Timestamp (with / without tz)   | TEXT              | timestamptz / timestamp          |
 * | Decimal(p, s)                   | TEXT              | numeric(p, s)                    |
 * | Dictionary                      | its values'       | its values'                      |
 * | Union (mixed), Null             | (none)            | text                             |
 * | anything else                   | TEXT              | text                             |
 */
import { DataType, type Schema } from 'apache-arrow'
import type { DialectName } from '../dialect.js'

/** `name` as an SQL identifier; `schema.table` names the table of a schema (or attached database). */
export function quoteTableName(name: string): string {
  const dot = name.indexOf('.')
  return dot > 0 && dot < name.length - 1
    ? `${quoteIdentifier(name.slice(0, dot))}.${quoteIdentifier(name.slice(dot + 1))}`
    : quoteIdentifier(name)
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

/** The declared SQLite type of a column created from an Arrow field (its affinity decides storage). */
function sqliteType(type: DataType): string {
  if (DataType.isInt(type) || DataType.isBool(type)) return 'INTEGER'
  if (DataType.isFloat(type)) return 'REAL'
  if (DataType.isBinary(type) || DataType.isLargeBinary(type) || DataType.isFixedSizeBinary(type))
    return 'BLOB'
  if (DataType.isDictionary(type)) return sqliteType(type.dictionary)
  // Mixed (union) and NULL columns keep whatever each value is: no declared type, BLOB affinity.
  if (DataType.isUnion(type) || DataType.isNull(type)) return ''
  return 'TEXT'
}

/** The PostgreSQL type of a column created from an Arrow field: one that takes its bound values. */
function postgresType(type: DataType): string {
  if (DataType.isInt(type)) {
    const bits = type.isSigned ? type.bitWidth : type.bitWidth * 2
    return bits <= 16 ? 'smallint' : bits <= 32 ? 'integer' : bits <= 64 ? 'bigint' : 'numeric(20, 0)'
  }
  if (DataType.isFloat(type)) return type.precision === 2 ? 'double precision' : 'real'
  if (DataType.isBool(type)) return 'boolean'
  if (DataType.isBinary(type) || DataType.isLargeBinary(type) || DataType.isFixedSizeBinary(type))
    return 'bytea'
  if (DataType.isDate(type)) return type.unit === 0 ? 'date' : 'timestamptz'
  if (DataType.isTimestamp(type)) return type.timezone ? 'timestamptz' : 'timestamp'
  if (DataType.isDecimal(type)) return `numeric(${type.precision}, ${type.scale})`
  if (DataType.isDictionary(type)) return postgresType(type.dictionary)
  return 'text'
}

/** `CREATE TABLE IF NOT EXISTS` for `schema`'s columns. */
export function createTableSql(table: string, schema: Schema, dialect: DialectName): string {
  const typeOf = dialect === 'postgresql' ? postgresType : sqliteType
  const columns = schema.fields.map((field) => `${quoteIdentifier(field.name)} ${typeOf(field.type)}`.trim())
  return `CREATE TABLE IF NOT EXISTS ${quoteTableName(table)} (${columns.join(', ')})`
}

/** An INSERT binding `schema`'s columns by position. */
export function insertSql(table: string, schema: Schema, dialect: DialectName): string {
  const names = schema.fields.map((field) => quoteIdentifier(field.name))
  const marks = names.map((_, i) => (dialect === 'postgresql' ? `$${i + 1}` : '?'))
  return `INSERT INTO ${quoteTableName(table)} (${names.join(', ')}) VALUES (${marks.join(', ')})`
}
