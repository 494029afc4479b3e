/**
 * How a PostgreSQL error crosses back to the main thread: as a `DatabaseError` whose code is the
 * SQLSTATE, with the server's detail, hint, constraint, position and the other fields `pg`
 * reports. Errors from `pg` itself (a refused connection, a bad URL) keep their message.
 */
const FIELDS = [
  'detail',
  'hint',
  'constraint',
  'position',
  'schema',
  'table',
  'column',
  'severity',
  'where',
] as const

/** Whether `error` is a server error (it carries a SQLSTATE). */
export function isServerError(error: unknown): error is Error & Record<string, unknown> {
  return (
    error instanceof Error && typeof (error as { code?: unknown }).code === 'string' && 'severity' in error
  )
}

/**
 * A server error as an Error named 'DatabaseError' whose `fields` travel with it (see
 * `worker/replies.ts`); anything else is returned as it is.
 */
export function fromPgError(error: unknown): unknown {
  if (!isServerError(error)) return error
  const fields: Record<string, string | number> = {}
  for (const key of FIELDS) {
    const value = error[key]
    if (typeof value === 'string' && value !== '') fields[key] = key === 'position' ? Number(value) : value
  }
  const revived = new Error(error.message)
  revived.name = 'DatabaseError'
  return Object.assign(revived, { code: error.code as string, fields })
}
