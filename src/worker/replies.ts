/**
 * Errors as replies: what of a thrown value crosses to the main thread.
 */
import type { SerializedError } from '../thread/protocol.js'

/** A structured-clone-safe copy of a thrown value, keeping SQLite's extended error code. */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    const fields = (error as { fields?: SerializedError['fields'] }).fields
    return {
      name: error.name,
      message: error.message,
      ...(typeof code === 'string' ? { code } : {}),
      ...(fields ? { fields } : {}),
      ...(error.stack ? { stack: error.stack } : {}),
    }
  }
  return { name: 'Error', message: String(error) }
}
