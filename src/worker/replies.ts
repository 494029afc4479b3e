/**
 * How the worker answers: post on the port, then ring the reply bell.
 */
import type { MessagePort } from 'node:worker_threads'
import { Ctl, type Reply, type SerializedError } from '../thread/protocol.js'

export function postReply(port: MessagePort, control: Int32Array, reply: Reply): void {
  port.postMessage(reply)
  // Ring after posting: the message is already on the main thread's port when it wakes.
  Atomics.add(control, Ctl.replyBell, 1)
  Atomics.notify(control, Ctl.replyBell)
}

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
