/**
 * PostgreSQL's cancel request: a fresh connection to the server carrying the backend's process
 * id and secret key, which asks it to stop whatever statement that backend is running.
 *
 * Exactness. A cancel request names a backend, not a statement. The worker sends it only while
 * the statement it means to stop is on the wire, and starts no other statement on that backend
 * until the server has closed the cancel connection (by then the server has signalled the
 * backend). If the statement finished first, the backend is reading its next command when the
 * signal lands, and PostgreSQL drops a cancel that arrives while it reads a command: the next
 * statement is never hit.
 */
import { Socket } from 'node:net'

/** Sends the cancel request and resolves once the server has closed the connection. */
export function sendCancel(host: string, port: number, pid: number, secret: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = new Socket()
    const message = Buffer.alloc(16)
    message.writeInt32BE(16, 0)
    message.writeInt32BE(80877102, 4)
    message.writeInt32BE(pid, 8)
    message.writeInt32BE(secret, 12)
    socket.on('error', () => resolve())
    socket.on('close', () => resolve())
    const target = host.startsWith('/') ? { path: `${host}/.s.PGSQL.${port}` } : { host, port }
    socket.connect(target, () => socket.write(message))
  })
}
