/**
 * The process's exit, made safe for workers inside better-sqlite3.
 *
 * When the process exits (`process.exit()`, an uncaught exception) Node terminates every worker
 * wherever it is. A worker inside better-sqlite3 whose SQLite call then fails (an interrupt, a
 * busy timeout) makes better-sqlite3 12 abort the whole process, turning a clean exit into a
 * SIGABRT. So on `exit`, every worker that may be inside a database call is asked to stop (its
 * statement interrupted on the native path, its lock wait given up) and waited for, with a bound,
 * until it has closed its database. Idle workers sleep in `Atomics.wait`, where termination is
 * safe, and are left alone. This is the one place where the main thread blocks, and only once
 * its event loop is over.
 */

/** What the guard needs of a channel. */
export interface StoppableWorker {
  readonly exited: boolean
  /** Whether the worker may be inside a database call right now. */
  busy(): boolean
  /** Sets the stop flag, interrupts, rings the doorbell; returns at once. */
  requestStop(): void
  /** Blocks (bounded) until the worker has closed its database. */
  waitStoppedSync(): void
}

const live = new Set<WeakRef<StoppableWorker>>()
let installed = false

function stopBusyWorkers(): void {
  const busy: StoppableWorker[] = []
  for (const ref of live) {
    const worker = ref.deref()
    if (worker && !worker.exited && worker.busy()) busy.push(worker)
  }
  // Ask them all first, so that their stops run in parallel, then wait for each.
  for (const worker of busy) worker.requestStop()
  for (const worker of busy) worker.waitStoppedSync()
}

/** Puts `worker` under the guard for as long as it lives. */
export function guardExit(worker: StoppableWorker): void {
  if (!installed) {
    installed = true
    process.on('exit', stopBusyWorkers)
  }
  for (const ref of live) if (ref.deref()?.exited !== false) live.delete(ref)
  live.add(new WeakRef(worker))
}
