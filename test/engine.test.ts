import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ClosedError, createEngine } from '../src/index.js'
import { tempEngine } from './helpers.js'

test('engine execute, scalar, hasTable and tableNames', async () => {
  const engine = tempEngine()
  await engine.execute('CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)')
  assert.equal(await engine.hasTable('users'), true)
  assert.equal(await engine.hasTable('nope'), false)
  await engine.execute('CREATE TABLE accounts (id INTEGER)')
  assert.deepEqual(await engine.tableNames(), ['accounts', 'users'])
  const insert = await engine.execute('INSERT INTO users (name) VALUES (?)', ['Dan Rydell'])
  assert.equal(insert.returnsRows, false)
  assert.equal(insert.rowcount, 1)
  assert.equal(insert.lastInsertRowid, 1)
  assert.equal(await engine.scalar('SELECT name FROM users WHERE id = ?', [1]), 'Dan Rydell')
})

test('every call after dispose rejects with ClosedError', async () => {
  const engine = createEngine('sqlite://')
  assert.equal(await engine.scalar('SELECT 1'), 1)
  await engine.dispose()
  await assert.rejects(engine.execute('SELECT 1'), ClosedError)
  await assert.rejects(engine.connect(), ClosedError)
  await engine.dispose()
})
