/**
 * Stopping a worker never takes the process down (issue 8). better-sqlite3 12 aborts the whole
 * process when an SQLite call fails while its worker thread is being terminated, so sqlaio never
 * terminates a worker that may be inside it: dispose(), process exit and the rest stop it
 * cooperatively. Each case runs in a child process on the path under test (SQLAIO_NATIVE), at
 * several delays, and must exit with code 0 and no signal, its pending call settled.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { runChild, TEST_NATIVE, tempDbPath } from './helpers.js'

/** Rows a long write inserts: the native path interrupts it; the JS path waits for its end. */
const WRITE_ROWS = TEST_NATIVE === 'off' ? 1_500_000 : 30_000_000
const LONG_WRITE = `INSERT INTO t SELECT x FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${WRITE_ROWS}) SELECT x FROM c)`
const LONG_READ = `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${WRITE_ROWS}) SELECT sum(x) FROM c`

/** How each case starts its pending call(s); `engine` exists, table t (x) too. */
const CASES: Record<string, string> = {
  'engine.exec of a long write': `pending = [engine.exec(${JSON.stringify(LONG_WRITE)})]`,
  'engine.execute of a long write': `pending = [engine.execute(${JSON.stringify(LONG_WRITE)})]`,
  'a long write on a Connection': `const conn = await engine.connect()
    pending = [conn.execute(${JSON.stringify(LONG_WRITE)})]`,
  'a writer waiting for a lock': `const holder = await engine.connect()
    await holder.execute('BEGIN IMMEDIATE')
    const writer = await engine.connect()
    pending = [writer.execute('INSERT INTO t VALUES (1)')]`,
  'a burst of 300 distinct statements being prepared': `pending = Array.from({ length: 300 }, (_, i) =>
      engine.scalar('SELECT ' + i + ' + count(*) AS n' + i + ' FROM t WHERE x > ' + i))`,
  'a long read': `pending = [engine.scalar(${JSON.stringify(LONG_READ)})]`,
}

function childSource(setup: string, delayMs: number, stop: 'dispose' | 'exit', filename: string): string {
  return `
    import { createEngine } from 'SQLAIO'
    const engine = createEngine(${JSON.stringify(`sqlite:///${filename}`)}, {
      native: process.env.SQLAIO_NATIVE ?? 'auto',
      busyTimeoutMs: 400,
    })
    await engine.exec('CREATE TABLE IF NOT EXISTS t (x)')
    let pending = []
    ${setup}
    const settled = Promise.allSettled(pending).then((outcomes) =>
      outcomes.map((o) => (o.status === 'fulfilled' ? 'fulfilled' : o.reason?.name)),
    )
    await new Promise((resolve) => setTimeout(resolve, ${delayMs}))
    ${
      stop === 'dispose'
        ? `await engine.dispose()
    console.log(JSON.stringify([...new Set(await settled)]))`
        : `console.log('exiting')
    process.exit(0)`
    }
  `
}

const DELAYS = [15, 60, 150]

for (const [name, setup] of Object.entries(CASES)) {
  test(`dispose() during ${name} leaves the process running and settles the call`, async () => {
    for (const delay of DELAYS) {
      const outcome = await runChild(childSource(setup, delay, 'dispose', tempDbPath()), 60_000)
      const where = `delay ${delay} ms: ${outcome.stderr}`
      assert.equal(outcome.signal, null, where)
      assert.equal(outcome.code, 0, where)
      const settled = JSON.parse(outcome.stdout) as string[]
      for (const how of settled) {
        // A call that had finished before dispose() resolved; the others were cut short.
        assert.ok(['fulfilled', 'ClosedError', 'AbortError'].includes(how), `${where}: settled as ${how}`)
      }
    }
  })
}

for (const name of ['engine.exec of a long write', 'a writer waiting for a lock', 'a long read']) {
  test(`process.exit() during ${name} exits cleanly`, async () => {
    for (const delay of DELAYS) {
      const outcome = await runChild(childSource(CASES[name]!, delay, 'exit', tempDbPath()), 60_000)
      const where = `delay ${delay} ms: ${outcome.stderr}`
      assert.equal(outcome.signal, null, where)
      assert.equal(outcome.code, 0, where)
      assert.equal(outcome.stdout.trim(), 'exiting')
    }
  })
}
