/**
 * The transport seam: how one side of a worker's boundary sends messages, pulls the ones that
 * arrived, and waits for more. The main thread's channel and the worker's executor use only this
 * interface; `PortTransport` (a MessagePort) and `RingTransport` (shared-memory rings, the port
 * for what is rare or large) implement it.
 *
 * Waking. Each direction has a bell (a counter in the control block, rung after every publish)
 * and a sleeper flag (1 while the receiver waits on that bell). The sender notifies only when
 * the flag says someone waits: a busy receiver costs the sender no futex call. A receiver reads
 * the bell, drains, and only then waits on the value it read, so a message published after its
 * read changes the bell and the wait returns at once: no wake-up is lost (sequentially
 * consistent atomics on both sides; see `Ctl.sleeping`).
 */
import { availableParallelism, loadavg } from 'node:os'
import type { MessagePort } from 'node:worker_threads'
import { Ctl, type Reply, type Request } from './protocol.js'

/**
 * How long a worker watches its bell before it sleeps, when its previous idle gap was at most
 * this long (`waitSync`). A caller awaiting small call after small call sends its next request
 * 20–60 µs after the previous reply on these 2-core machines.
 */
const SPIN_MS = 0.1

/** How often a worker rereads the load average that decides whether spinning is worth a core. */
const LOAD_CHECK_MS = 500

let loadCheckedAt = Number.NEGATIVE_INFINITY
let coresToSpare = false
/** The process's CPU time at the last check (every thread's: `process.cpuUsage` is process-wide). */
let cpuSeen = process.cpuUsage()

/**
 * How many of the process's workers are spinning right now: one Int32 in shared memory that the
 * main thread creates and hands to every worker it starts (`WorkerLink.spinners`). A worker spins
 * only when it can take one of MAX_SPINNERS places (an `Atomics.add` that finds fewer already
 * taken), so that sixteen connections called at once do not spin sixteen threads on two cores.
 * Read and written only with atomics, by workers; a place is given back right after the spin.
 */
let spinners = new Int32Array(new SharedArrayBuffer(4))
const MAX_SPINNERS = Math.max(1, availableParallelism() - 1)

/** The process-wide spinner count, for the main thread to pass to each worker it starts. */
export function spinnersBuffer(): SharedArrayBuffer {
  return spinners.buffer as SharedArrayBuffer
}

/** In a worker: count spinners in the main thread's buffer (`WorkerLink.spinners`). */
export function shareSpinners(buffer: SharedArrayBuffer): void {
  spinners = new Int32Array(buffer)
}

/** Whether `control`'s bell moved off `seen` during a spin of SPIN_MS (if a place was free). */
function spinFor(control: Int32Array, bell: number, seen: number, since: number): boolean {
  if (Atomics.add(spinners, 0, 1) >= MAX_SPINNERS) {
    Atomics.sub(spinners, 0, 1)
    return false
  }
  try {
    const until = since + SPIN_MS
    while (performance.now() < until) {
      if (Atomics.load(control, bell) !== seen) return true
    }
    return false
  } finally {
    Atomics.sub(spinners, 0, 1)
  }
}

/**
 * Whether this machine has a core to spare for a spinning worker: the 1-minute load average,
 * less what this process itself keeps busy (its own main thread and workers count in the load
 * too), below the number of cores less one. Re-read every LOAD_CHECK_MS. On cores that other
 * processes keep busy a spin only takes time from the thread it waits for: measured on 2 loaded
 * cores, spinning made round trips slower.
 */
function spareCore(now: number): boolean {
  if (now - loadCheckedAt > LOAD_CHECK_MS) {
    const cpu = process.cpuUsage()
    const ownCores = (cpu.user + cpu.system - cpuSeen.user - cpuSeen.system) / 1000 / (now - loadCheckedAt)
    cpuSeen = cpu
    loadCheckedAt = now
    coresToSpare = loadavg()[0]! - ownCores < availableParallelism() - 1
  }
  return coresToSpare
}

export interface Transport<Out, In> {
  /** Sends `message` after every message sent before it, and rings the peer's bell. */
  send(message: Out): void
  /** Hands every message that has arrived to `deliver`, in the order they were sent. */
  drain(deliver: (message: In) => void): void
  /** The incoming bell's value: read it before a last drain, then wait on it. */
  bell(): number
  /** Blocks until the incoming bell differs from `seen` (a worker thread only, never the main). */
  waitSync(seen: number): void
  /** Settles once the incoming bell differs from `seen`; null if it already does. */
  waitAsync(seen: number): Promise<unknown> | null
  /**
   * Raises the incoming sleeper flag so that the peer sends a wake message at its next ring
   * (see `wakeBy`); false when the bell already differs from `seen` (drain again instead).
   */
  listen(seen: number): boolean
  /** Sends the peer a message on `port` instead of `Atomics.notify` when it listens. */
  wakeBy(port: MessagePort): void
}

export type MainTransport = Transport<Request, Reply>
export type WorkerTransport = Transport<Reply, Request>

/** Which bells and sleeper flags one side uses. */
export interface Side {
  outBell: number
  outSleeper: number
  inBell: number
  inSleeper: number
}

export const MAIN_SIDE: Side = {
  outBell: Ctl.doorbell,
  outSleeper: Ctl.sleeping,
  inBell: Ctl.replyBell,
  inSleeper: Ctl.mainWaiting,
}

export const WORKER_SIDE: Side = {
  outBell: Ctl.replyBell,
  outSleeper: Ctl.mainWaiting,
  inBell: Ctl.doorbell,
  inSleeper: Ctl.sleeping,
}

/** The bells and waits every transport shares; subclasses move the messages. */
export abstract class BellTransport<Out, In> implements Transport<Out, In> {
  protected readonly control: Int32Array
  protected readonly port: MessagePort
  readonly #side: Side
  /** Whether the last idle gap was short enough that a spin before the next sleep pays. */
  #spinPays = false
  /** Where the peer listens for wake messages (see `wakeBy`); null: it waits on the bell. */
  #wake: MessagePort | null = null

  constructor(control: Int32Array, port: MessagePort, side: Side) {
    this.control = control
    this.port = port
    this.#side = side
  }

  abstract send(message: Out): void
  abstract drain(deliver: (message: In) => void): void

  /**
   * Rings the peer's bell after a publish; wakes only a peer that waits or listens. A listening
   * peer (see `listen`) gets one wake message per raise of its flag: taking the flag back to 0
   * here means that later rings before it drains send nothing more.
   */
  protected ring(): void {
    const { outBell, outSleeper } = this.#side
    const control = this.control
    Atomics.add(control, outBell, 1)
    if (this.#wake) {
      if (Atomics.compareExchange(control, outSleeper, 1, 0) === 1) this.#wake.postMessage(null)
    } else if (Atomics.load(control, outSleeper) === 1) Atomics.notify(control, outBell)
  }

  wakeBy(port: MessagePort): void {
    this.#wake = port
  }

  listen(seen: number): boolean {
    Atomics.store(this.control, this.#side.inSleeper, 1)
    return Atomics.load(this.control, this.#side.inBell) === seen
  }

  /** Called at the start of every drain: whoever drains is awake. */
  protected awake(): void {
    Atomics.store(this.control, this.#side.inSleeper, 0)
  }

  bell(): number {
    return Atomics.load(this.control, this.#side.inBell)
  }

  waitSync(seen: number): void {
    const { inBell, inSleeper } = this.#side
    const control = this.control
    const idleSince = performance.now()
    // Watch the bell for a moment before sleeping: a caller awaiting call after call sends its
    // next request within microseconds, and catching it here saves a futex wake-up (the caller
    // skips its notify too: `inSleeper` still reads 0).
    if (this.#spinPays && spareCore(idleSince) && spinFor(control, inBell, seen, idleSince)) return
    Atomics.store(control, inSleeper, 1)
    Atomics.wait(control, inBell, seen)
    Atomics.store(control, inSleeper, 0)
    // Spin next time only if this gap was short enough for a spin to have caught it: a worker
    // called now and then never spins; one serving a burst spins while the burst lasts.
    this.#spinPays = performance.now() - idleSince < SPIN_MS
  }

  waitAsync(seen: number): Promise<unknown> | null {
    const { inBell, inSleeper } = this.#side
    Atomics.store(this.control, inSleeper, 1)
    const wait = Atomics.waitAsync(this.control, inBell, seen)
    return wait.async ? wait.value : null
  }
}
