/**
 * The main thread's end of one worker: sends requests, routes replies to their listeners by id,
 * and keeps the process alive exactly while a reply is owed.
 *
 * Signalling (see transport.ts): requests are sent through the channel's transport, which rings
 * the doorbell; replies are drained from it whenever the reply bell rings. The main thread never
 * waits on the bell (no blocking wait, and no `Atomics.waitAsync`, whose waits and notifies V8
 * serialises under one process-wide lock): it raises `Ctl.mainWaiting` and the worker, ringing,
 * posts it an empty message on a port of its own (the wake port), delivered by the event loop.
 * Measured against waitAsync: the same for one connection, 16–25k against 16.5–20k point
 * lookups/s for 16 connections called at once (2 cores, 3 runs each). The transport is the MessagePort
 * alone, or (the default) shared-memory rings beside it (`SQLAIO_TRANSPORT=port|ring`, read when
 * a worker starts).
 *
 * Liveness: the wake port is unref'd, so the channel counts "holds" (calls awaiting a reply,
 * streams whose worker is producing) and keeps the Worker ref'd while any exist. An idle channel
 * is unref'd and never keeps the process running.
 *
 * Stopping: a worker is never terminated while it may be inside better-sqlite3, whose version 12
 * aborts the whole process when an SQLite call fails during termination. `stop()` asks the worker
 * to stop (see `Ctl.stopping`) and waits for it to exit by itself; see `stop()` and `exit-guard.ts`.
 */
import { MessageChannel, type MessagePort, type ResourceLimits } from 'node:worker_threads'
import { loadNative } from '../dialects/sqlite/native.js'
import { ClosedError, reviveError, WorkerCrashedError } from '../errors.js'
import { guardExit, type StoppableWorker } from './exit-guard.js'
import { PortTransport } from './port-transport.js'
import {
  CONTROL_BLOCK_BYTES,
  Ctl,
  type DistributiveOmit,
  type Reply,
  type Request,
  type WorkerInit,
  type WorkerLink,
} from './protocol.js'
import { allocateRings, MainRingTransport } from './ring-transport.js'
import { dedicatedThread, sharedThread, type ThreadSeat } from './threads.js'
import { MAIN_SIDE, type MainTransport, spinnersBuffer } from './transport.js'

/** Receives the replies of one request id. */
export interface ReplyListener {
  /** Handles a reply; returns true when no further reply for this id is expected. */
  onReply(reply: Reply): boolean
  /** The channel died (worker crash, dispose) before the listener finished. */
  onFailure(error: Error): void
}

export type ChannelOptions = DistributiveOmit<WorkerInit, keyof WorkerLink> & {
  resourceLimits: ResourceLimits | null
}

/**
 * How long a stop waits for a worker that is awaiting asynchronous user code (a `runInWorker`
 * function, a `setup` module) before it leaves that worker to exit by itself, unref'd. A worker
 * running a statement is always waited for: a statement ends (interrupted on the native path; on
 * the JS path a write runs to its end, and a lock wait lasts at most `busyTimeoutMs`).
 */
const STOP_GRACE_MS = 2000

/**
 * How often, while a reply is owed or a stop is being waited for, the channel notifies both bells
 * again. Every wake-up is meant never to be lost (see protocol.ts), and a spurious one is harmless:
 * each side re-reads what it waits for and sleeps again. This safety net turns a wake-up lost in
 * an interleaving we have not found into a delay of at most this long instead of a hang: two such
 * hangs (a worker asleep in `Atomics.wait`, the main thread idle, a call unanswered) were seen in
 * about ten full test runs and are not root-caused yet.
 */
const NUDGE_MS = 250

/**
 * Which transport new workers use: `SQLAIO_TRANSPORT=ring` (the default: small calls through
 * shared memory) or `port` (every message by structured clone, as before the ring existed).
 */
function ringTransport(): boolean {
  const kind = process.env.SQLAIO_TRANSPORT ?? 'ring'
  if (kind !== 'port' && kind !== 'ring')
    throw new TypeError(`SQLAIO_TRANSPORT must be 'port' or 'ring', not '${kind}'`)
  return kind === 'ring'
}

export class WorkerChannel implements StoppableWorker {
  /** The thread this channel's session runs on (its own, or a shared one: threads.ts). */
  readonly #thread: ThreadSeat
  readonly #transport: MainTransport
  readonly #control: Int32Array
  readonly #listeners = new Map<number, ReplyListener>()
  #nextId = 1
  #holds = 0
  #draining = false
  #failure: Error | null = null
  /** The worker connection's id in the native interrupt registry; 0 on the JS path. */
  #nativeId = 0
  readonly #busyTimeoutMs: number
  #exited = false
  /** Resolves once the session has ended (on its own thread, once that thread has exited). */
  readonly #exit: Promise<void>
  #resolveExit: () => void = () => {}
  /** Where the worker's wake-up messages arrive (see the constructor). */
  readonly #wakePort: MessagePort
  #stopped: Promise<void> | null = null
  #nudger: NodeJS.Timeout | null = null
  /** A stop is waiting for the worker to exit (the safety net runs with no hold then). */
  #stopWaiting = false
  /** Resolves once the worker has opened its database (rejects if it could not). */
  readonly ready: Promise<void>
  /** Called once when the channel can no longer serve (crash or termination). */
  onDeath: ((error: Error) => void) | null = null

  constructor(options: ChannelOptions) {
    const control = new SharedArrayBuffer(CONTROL_BLOCK_BYTES)
    const { port1, port2 } = new MessageChannel()
    this.#control = new Int32Array(control)
    const rings = ringTransport() ? allocateRings() : null
    this.#transport = rings
      ? new MainRingTransport(this.#control, port1, rings)
      : new PortTransport(this.#control, port1, MAIN_SIDE)
    const { resourceLimits, ...rest } = options
    // The worker's wake-ups for us: a message on this port whenever it rings `replyBell` while we
    // listen (`mainWaiting`), delivered by the event loop like any port message (one libuv async
    // wake-up).
    const wake = new MessageChannel()
    this.#wakePort = wake.port1
    this.#wakePort.on('message', this.#onBell)
    // Only a Worker with work in flight keeps the process alive (see hold), never this port.
    this.#wakePort.unref()
    const init = {
      ...rest,
      control,
      port: port2,
      wake: wake.port2,
      rings,
      spinners: spinnersBuffer(),
    } as WorkerInit
    // How long the worker may wait for a lock (SQLite): bounds the wait for it at process exit.
    this.#busyTimeoutMs = options.dialect === 'sqlite' ? options.busyTimeoutMs : 0
    this.#exit = new Promise((resolve) => {
      this.#resolveExit = resolve
    })
    const ended = (code: number, error: Error | null): void => {
      this.#exited = true
      this.#onExit(code, error)
      this.#resolveExit()
    }
    const transferList = [port2, wake.port2]
    this.#thread =
      init.dialect === 'postgresql'
        ? sharedThread(init, transferList, resourceLimits, ended)
        : dedicatedThread(init, transferList, resourceLimits, ended)
    guardExit(this)
    this.ready = new Promise<void>((resolve, reject) => {
      this.#listeners.set(0, {
        onReply: (reply) => {
          this.release()
          if (reply.kind === 'ready') {
            this.#nativeId = reply.nativeId ?? 0
            resolve()
          } else if (reply.kind === 'error') this.#fail(reviveError(reply.error))
          return true
        },
        onFailure: reject,
      })
    })
    // Nobody may be listening yet (connect() awaits it, implicit calls do not).
    this.ready.catch(() => {})
    this.hold()
  }

  /** Why the channel can no longer serve, or null while it can. */
  get failure(): Error | null {
    return this.#failure
  }

  /** A fresh request id, unique on this channel; requests run in id order. */
  nextId(): number {
    return this.#nextId++
  }

  /** Registers `listener` for `request.id`, sends the request, and holds until released. */
  request(request: Request, listener: ReplyListener): void {
    if (this.#failure) {
      listener.onFailure(this.#failure)
      return
    }
    this.#listeners.set(request.id, listener)
    this.hold()
    try {
      this.send(request)
    } catch (error) {
      // Typically a DataCloneError from a value that cannot cross threads: nothing was sent,
      // so undo the registration and the hold here; the caller must not release again.
      this.#listeners.delete(request.id)
      this.release()
      throw error
    }
  }

  /**
   * Interrupts the statement of request `requestId` if the worker is running it right now
   * (native addon only: `sqlite3_interrupt` on the worker's connection). Returns whether an
   * interrupt was sent. The request then fails with an abort; the caller still sends `cancel`.
   * On the JS path nothing can stop a statement mid-step: this sends nothing, and the worker
   * stops at its next batch boundary, when it reads the `cancel` message.
   *
   * Races: `runningId` may change the moment it is read here, so the addon checks it again under
   * the registry mutex, the same mutex under which the worker changes it: the interrupt lands only
   * while `requestId` runs. `cancelId` is stored first, so that when the SQLITE_INTERRUPT arrives
   * the worker knows it was meant for that request.
   */
  interrupt(requestId: number): boolean {
    if (this.#nativeId === 0 || this.#failure) return false
    // Only a request that is running may claim `cancelId`: a cancel of a queued call must not
    // overwrite the claim of a running one whose interrupt is still on its way (the worker would
    // then take that interrupt for a stray one). A request that starts right after this check
    // finds its `cancel` message when it re-reads its port after publishing runningId.
    if (Atomics.load(this.#control, Ctl.runningId) !== requestId) return false
    Atomics.store(this.#control, Ctl.cancelId, requestId)
    return loadNative()?.interrupt(this.#nativeId, requestId) ?? false
  }

  /** Sends a message that expects no reply of its own (credit, close, cancel). */
  send(message: Request): void {
    if (this.#failure) return
    this.#transport.send(message)
  }

  /**
   * Fails every listener but the start-up handshake with `error`, keeping the worker: used when
   * the owner of this channel is gone and its pending replies have nobody to reach.
   */
  abandonListeners(error: Error): void {
    for (const [id, listener] of [...this.#listeners]) {
      if (id === 0) continue
      this.#listeners.delete(id)
      listener.onFailure(error)
    }
  }

  /**
   * Routes the further replies of `id` to `listener` instead. A call hands its stream over this
   * way, so that the call's own listener (and the promise it resolved, and the result in it) is
   * no longer reachable from the channel and can be collected while the stream goes on.
   */
  route(id: number, listener: ReplyListener): void {
    if (this.#listeners.has(id)) this.#listeners.set(id, listener)
  }

  /** Stops routing replies for `id` (the caller gave up on it); late replies are dropped. */
  forget(id: number): void {
    this.#listeners.delete(id)
  }

  /** Something now owes us a reply: keep the process alive and watch the reply bell. */
  hold(): void {
    if (this.#failure) return
    if (this.#holds++ === 0) {
      this.#thread.ref()
      this.#startNudging()
    }
    this.#arm()
  }

  /** Undoes one `hold()`. After a failure every hold is already gone, so this does nothing. */
  release(): void {
    if (this.#holds > 0 && --this.#holds === 0) this.#thread.unref()
  }

  /**
   * Starts the safety net of NUDGE_MS: our own listening, and the worker's wait. One
   * timer serves a whole burst of calls: it stops itself at the first tick with nothing owed,
   * rather than being set and cleared on every call's hold and release.
   */
  #startNudging(): void {
    if (this.#nudger) return
    this.#nudger = setInterval(() => {
      if (this.#holds === 0 && !this.#stopWaiting) {
        this.#stopNudging()
        return
      }
      Atomics.notify(this.#control, Ctl.doorbell)
      // And drain whatever arrived without its wake, then listen again.
      this.#arm()
    }, NUDGE_MS)
    // The Worker is ref'd while it matters; the timer itself never keeps the process alive.
    this.#nudger.unref()
  }

  #stopNudging(): void {
    if (this.#nudger) clearInterval(this.#nudger)
    this.#nudger = null
  }

  /**
   * Ends the worker; pending listeners fail with `error` at once. Resolves once the worker has
   * closed its database and exited, or once it has been left to do so by itself (a worker still
   * awaiting user code after STOP_GRACE_MS is unref'd instead). Safe to call more than once.
   */
  stop(error: Error = new ClosedError('The engine was disposed')): Promise<void> {
    this.#stopped ??= this.#stop(error)
    return this.#stopped
  }

  async #stop(error: Error): Promise<void> {
    this.requestStop()
    this.#fail(error)
    if (this.#exited) return
    // Keep the process alive until the worker is out of better-sqlite3: exiting the process now
    // would terminate it wherever it is.
    this.#thread.ref()
    this.#stopWaiting = true
    this.#startNudging()
    const abandoned = await Promise.race([this.#exit.then(() => false), this.#awaitingTooLong()])
    this.#stopWaiting = false
    this.#stopNudging()
    if (abandoned) this.#thread.unref()
  }

  /**
   * Asks the worker to stop without waiting: sets `Ctl.stopping`, interrupts whatever statement
   * runs (native path) and rings the doorbell in case the worker sleeps. Also used at process exit.
   */
  requestStop(): void {
    Atomics.store(this.#control, Ctl.stopping, 1)
    if (this.#nativeId !== 0) loadNative()?.interrupt(this.#nativeId, 0)
    Atomics.add(this.#control, Ctl.doorbell, 1)
    Atomics.notify(this.#control, Ctl.doorbell)
  }

  /** Resolves true once the worker has been awaiting asynchronous work past the grace period. */
  #awaitingTooLong(): Promise<boolean> {
    const started = performance.now()
    return new Promise((resolve) => {
      const poll = setInterval(() => {
        if (this.#exited) {
          clearInterval(poll)
          resolve(false)
        } else if (performance.now() - started >= STOP_GRACE_MS && this.awaitingUserCode()) {
          clearInterval(poll)
          resolve(true)
        }
      }, 50)
      poll.unref()
    })
  }

  /** Whether the worker has exited. */
  get exited(): boolean {
    return this.#exited
  }

  /** Whether the worker is between statements, awaiting asynchronous work. */
  awaitingUserCode(): boolean {
    return Atomics.load(this.#control, Ctl.awaiting) === 1
  }

  /** Whether the worker may be inside a database call right now. */
  busy(): boolean {
    return Atomics.load(this.#control, Ctl.runningId) !== 0 && !this.awaitingUserCode()
  }

  /**
   * Blocks, at most `timeoutMs`, until a stopped worker has closed its database. Only for the
   * process's `exit` event, where nothing can be awaited; never on a live event loop.
   */
  waitStoppedSync(): void {
    const timeoutMs = this.#nativeId !== 0 ? 2000 : this.#busyTimeoutMs + 2000
    Atomics.wait(this.#control, Ctl.stopped, 0, timeoutMs)
  }

  readonly #onBell = (): void => {
    this.#arm()
  }

  #arm(): void {
    // A listener may take a hold while we are draining (a new stream): the drain must not
    // recurse into itself, or it would hand that stream's next reply to a listener that is not
    // registered yet. The arm loop that runs the drain re-checks the holds when it finishes.
    if (this.#draining) return
    while (this.#holds > 0 && !this.#failure) {
      // Read the bell before draining, raise `mainWaiting` after: a reply posted after the read
      // either finds the flag raised (the worker then posts a wake to #wakePort) or changes the
      // bell before our second read below, and we drain again.
      const seen = this.#transport.bell()
      this.#drain()
      if (this.#holds === 0 || this.#failure) return
      if (this.#transport.listen(seen)) return
    }
  }

  readonly #deliver = (reply: Reply): void => {
    const listener = this.#listeners.get(reply.id)
    if (listener?.onReply(reply)) this.#listeners.delete(reply.id)
  }

  #drain(): void {
    this.#draining = true
    try {
      this.#transport.drain(this.#deliver)
    } finally {
      this.#draining = false
    }
  }

  #fail(error: Error): void {
    if (this.#failure) return
    this.#failure = error
    const listeners = [...this.#listeners.values()]
    this.#listeners.clear()
    this.#holds = 0
    this.#thread.unref()
    this.#stopNudging()
    for (const listener of listeners) listener.onFailure(error)
    this.onDeath?.(error)
  }

  #onExit(code: number, cause: Error | null): void {
    // Replies posted just before the exit are still on the port: hand them over first.
    if (!this.#failure) this.#drain()
    const detail = cause ? `: ${cause.message}` : ''
    this.#fail(new WorkerCrashedError(`The worker thread exited with code ${code}${detail}`, code))
  }
}
