/**
 * The shared-memory ring transport: the byte ring itself (wrap-around, a full ring), the order of
 * messages split between ring and port, and an engine on it end to end (every value kind, large
 * parameters falling back to the port, the SQL table's slots reused, concurrent calls, a cancel
 * of a queued call, a crash mid-call). This file runs its engines on the ring whatever
 * SQLAIO_TRANSPORT says.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads'
import { AbortError, WorkerCrashedError } from '../src/index.js'
import {
  type ArrowTypeDesc,
  CONTROL_BLOCK_BYTES,
  ColumnKind,
  type ColumnLayout,
  type Reply,
  type Request,
} from '../src/thread/protocol.js'
import { RingReader, RingWriter, ringBytes } from '../src/thread/ring.js'
import { allocateRings, MainRingTransport, WorkerRingTransport } from '../src/thread/ring-transport.js'
import { SLOW_SCALAR_SQL, tempEngine } from './helpers.js'
import { workerFixture } from './stress/support.js'

process.env.SQLAIO_TRANSPORT = 'ring'

test('SQLAIO_TRANSPORT picks the transport of new workers, and refuses an unknown one', async () => {
  try {
    process.env.SQLAIO_TRANSPORT = 'port'
    const engine = tempEngine()
    assert.equal(await engine.scalar('SELECT ?', ['over the port']), 'over the port')
    process.env.SQLAIO_TRANSPORT = 'pigeon'
    await assert.rejects(tempEngine().scalar('SELECT 1'), /SQLAIO_TRANSPORT/)
  } finally {
    process.env.SQLAIO_TRANSPORT = 'ring'
  }
})

test('the byte ring keeps records in order across wrap-around and refuses what does not fit', () => {
  const capacity = 256
  const buffer = new SharedArrayBuffer(ringBytes(capacity))
  const writer = new RingWriter(buffer, 0, capacity)
  const reader = new RingReader(buffer, 0, capacity)
  const payload = (seq: number, size: number) => new Uint8Array(size).fill(seq & 0xff)
  let written = 0
  let read = 0
  for (let round = 0; round < 200; round++) {
    // Sizes that do not divide the capacity, so records end near the edge and the writer pads.
    const size = 1 + ((round * 7) % writer.maxPayload)
    while (writer.write(written, payload(written, size), size)) written++
    assert.ok(written > read, 'an empty ring accepts a record')
    // Full now: read half of what is there, then write again.
    const stop = read + Math.ceil((written - read) / 2)
    while (read < stop) {
      assert.equal(reader.peek(), true)
      assert.equal(reader.seq, read)
      assert.deepEqual(reader.bytes.slice(reader.at, reader.at + reader.size), payload(read, reader.size))
      reader.consume()
      read++
    }
  }
  while (reader.peek()) {
    assert.equal(reader.seq, read++)
    reader.consume()
  }
  assert.equal(read, written)
  assert.equal(writer.write(0, new Uint8Array(writer.maxPayload + 1), writer.maxPayload + 1), false)
})

/** Both ends of one worker's ring transport, in this thread. */
function transportPair() {
  const control = new Int32Array(new SharedArrayBuffer(CONTROL_BLOCK_BYTES))
  const rings = allocateRings()
  const { port1, port2 } = new MessageChannel()
  const main = new MainRingTransport(control, port1, rings)
  const worker = new WorkerRingTransport(control, port2, rings)
  return { main, worker, port1 }
}

test('messages split between a full ring and the port arrive in the order they were sent', () => {
  const { main, worker, port1 } = transportPair()
  const sent: Request[] = []
  const received: Request[] = []
  const big = 'x'.repeat(9000)
  for (let id = 1; id <= 400; id++) {
    // Ring-sized requests (until the ring fills), port-only ones, and ones too large to encode.
    const request: Request =
      id % 7 === 0
        ? { op: 'runInWorker', id, module: 'm', exportName: 'f', args: [id] }
        : {
            op: 'execute',
            id,
            sql: `SELECT ${id % 3}`,
            params: id % 5 === 0 ? [big] : [id, `v${id}`, null, BigInt(id), new Uint8Array([id & 0xff])],
            batchRows: 10,
            prefetchBatches: 2,
          }
    main.send(request)
    sent.push(request)
    // Drain only now and then, so the ring fills and later messages overflow to the port.
    if (id % 150 === 0) worker.drain((message) => received.push(message))
  }
  worker.drain((message) => received.push(message))
  assert.equal(received.length, sent.length)
  assert.deepEqual(received, sent)
  port1.close()
})

test('replies: small ones through the ring, errors and unencodable values through the port, in order', () => {
  const { main, worker, port1 } = transportPair()
  const sent: Reply[] = []
  for (let id = 1; id <= 3000; id++) {
    const reply: Reply =
      id % 3 === 0
        ? { kind: 'error', id, error: { name: 'Error', message: `e${id}` }, inTransaction: false }
        : id % 3 === 1
          ? { kind: 'ok', id, value: id % 2 ? id : { object: id }, inTransaction: true }
          : {
              kind: 'started',
              id,
              returnsRows: false,
              columns: [],
              rowcount: id,
              lastInsertRowid: 2n ** 62n + BigInt(id),
              inTransaction: false,
              batch: null,
              done: true,
            }
    worker.send(reply)
    sent.push(reply)
  }
  const received: Reply[] = []
  main.drain((reply) => received.push(reply))
  assert.deepEqual(received, sent)
  port1.close()
})

test('a small batch of typed (Arrow) columns travels through the ring, every type intact', () => {
  const { main, worker, port1 } = transportPair()
  const types: ArrowTypeDesc[] = [
    { id: 'bool' },
    { id: 'int', bits: 16 },
    { id: 'int', bits: 64 },
    { id: 'float', bits: 32 },
    { id: 'utf8' },
    { id: 'utf8', hint: 'json' },
    { id: 'utf8', hint: 'time' },
    { id: 'binary' },
    { id: 'decimal', precision: 38, scale: -2 },
    { id: 'date32' },
    { id: 'timestamp', tz: null },
    { id: 'timestamp', tz: 'UTC' },
    { id: 'time64' },
    { id: 'interval' },
    { id: 'list', child: { id: 'list', child: { id: 'int', bits: 32 } } },
  ]
  const layout = (type: ArrowTypeDesc, at: number): ColumnLayout => ({
    kind: ColumnKind.Arrow,
    length: 1,
    nullCount: 0,
    validity: -1,
    offsets: type.id === 'list' ? at : -1,
    values: at,
    valuesBytes: 8,
    typeIds: -1,
    children: type.id === 'list' ? [layout(type.child, at + 8)] : null,
    type,
  })
  const buffer = new SharedArrayBuffer(8 * 32)
  new Uint8Array(buffer).fill(7)
  const reply: Reply = {
    kind: 'started',
    id: 1,
    returnsRows: true,
    columns: types.map((t) => t.id),
    rowcount: -1,
    lastInsertRowid: 0n,
    inTransaction: false,
    batch: {
      buffer,
      bytes: buffer.byteLength,
      lease: 0,
      numRows: 1,
      columns: types.map((t, i) => layout(t, 8 * i)),
    },
    done: true,
  }
  worker.send(reply)
  // Nothing went through the port: the whole reply is in the ring.
  assert.equal(receiveMessageOnPort(port1), undefined)
  const received: Reply[] = []
  main.drain((r) => received.push(r))
  assert.deepEqual(received, [reply])
  port1.close()
})

test('on the ring, every parameter kind round-trips, named and positional', async () => {
  const engine = tempEngine()
  const blob = new Uint8Array([0, 1, 2, 255])
  const row = await (
    await engine.execute(
      'SELECT ? AS n, ? AS i, ? AS f, ? AS s, ? AS b, ? AS big',
      [null, 42, 1.5, 'héllo ✓', blob, 2n ** 60n],
      { intMode: 'bigint' },
    )
  ).one()
  assert.deepEqual(row, { n: null, i: 42, f: 1.5, s: 'héllo ✓', b: Buffer.from(blob), big: 2n ** 60n })
  const named = await engine.scalar('SELECT :a || @b', { a: 'x', b: 'y' })
  assert.equal(named, 'xy')
  // Text exactly as given: a leading byte-order mark, an embedded NUL, an astral character.
  for (const text of ['\uFEFFbom', 'a\u0000b', '𝄞 clef', '']) {
    assert.equal(await engine.scalar('SELECT ?', [text]), text)
  }
  await engine.exec('CREATE TABLE t (v)')
  const inserted = await engine.execute('INSERT INTO t VALUES (?)', ['a'])
  assert.equal(inserted.rowcount, 1)
  assert.equal(inserted.lastInsertRowid, 1)
})

test('on the ring, parameters and results too large for it travel through the port', async () => {
  const engine = tempEngine()
  const text = 'z'.repeat(200_000)
  const bytes = new Uint8Array(100_000).fill(7)
  assert.equal(await engine.scalar('SELECT length(?)', [text]), 200_000)
  assert.equal(await engine.scalar('SELECT length(?) + length(?)', [bytes, text]), 300_000)
  assert.equal(await engine.scalar('SELECT ?', [text]), text)
  const sql = `SELECT '${'q'.repeat(20_000)}' AS long`
  assert.equal(((await engine.scalar(sql)) as string).length, 20_000)
})

test('on the ring, more distinct statements than the SQL table holds reuse its slots correctly', async () => {
  const engine = tempEngine()
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 600; i++) assert.equal(await engine.scalar(`SELECT ${i} AS v`), i)
  }
})

test('on the ring, concurrent calls of mixed sizes each get their own answer', async () => {
  const engine = tempEngine()
  const conn = await engine.connect()
  const calls = Array.from({ length: 3000 }, (_, i) =>
    i % 10 === 0
      ? conn.scalar('SELECT length(?)', ['w'.repeat(i * 20)]).then((v) => assert.equal(v, i * 20))
      : conn.scalar('SELECT ? + 1', [i]).then((v) => assert.equal(v, i + 1)),
  )
  const rows = engine.execute('SELECT value FROM generate_series(1, 5000)').catch(async () =>
    // Without the series extension: a recursive count.
    engine.execute(
      'WITH RECURSIVE c(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM c WHERE value < 5000) SELECT value FROM c',
    ),
  )
  await Promise.all(calls)
  assert.equal((await (await rows).fetchall()).length, 5000)
  await conn.close()
})

test('on the ring, cancelling a queued call skips it and leaves the running one alone', async () => {
  const engine = tempEngine()
  const conn = await engine.connect()
  const slow = conn.scalar(SLOW_SCALAR_SQL)
  const controller = new AbortController()
  const queued = conn.scalar('SELECT 1', [], { signal: controller.signal })
  controller.abort()
  await assert.rejects(queued, AbortError)
  assert.equal(await slow, 2_000_001_000_000)
  assert.equal(await conn.scalar('SELECT 2'), 2)
  await conn.close()
})

test('on the ring, a worker that dies mid-call fails every pending call with WorkerCrashedError', async () => {
  const engine = tempEngine()
  const conn = await engine.connect()
  assert.equal(await conn.scalar('SELECT 1'), 1)
  const pending = [
    conn.runInWorker(workerFixture(), 'exit', 7),
    conn.scalar('SELECT 2'),
    conn.execute('SELECT 3'),
  ]
  for (const call of pending) await assert.rejects(call, WorkerCrashedError)
  assert.equal(await engine.scalar('SELECT 4'), 4)
})
