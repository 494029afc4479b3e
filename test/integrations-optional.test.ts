/**
 * Kysely and Drizzle are optional peers: loading and using the core must never import them, nor
 * the integration modules that do.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { LIBRARY_URL, runChild } from './helpers.js'

const INTEGRATIONS_URL = new URL('../src/integrations/', import.meta.url).href

/** A child that fails to resolve any optional peer or integration module, then imports `target`. */
function childImporting(target: string): string {
  const hook = `export async function resolve(specifier, context, next) {
    const resolved = await next(specifier, context)
    if (/\\/node_modules\\/(kysely|drizzle-orm)\\//.test(resolved.url) || resolved.url.startsWith(${JSON.stringify(INTEGRATIONS_URL)})) {
      throw new Error('optional module loaded: ' + resolved.url)
    }
    return resolved
  }`
  return `
    import { register } from 'node:module'
    register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}))
    const { createEngine } = await import(${JSON.stringify(target)})
    const engine = createEngine('sqlite://')
    console.log(await engine.scalar('SELECT 6 * 7'))
    await engine.dispose()
  `
}

test('the core runs without loading Kysely, Drizzle or the integrations', async () => {
  const outcome = await runChild(childImporting(LIBRARY_URL), 30_000)
  assert.equal(outcome.stderr, '')
  assert.equal(outcome.code, 0)
  assert.equal(outcome.stdout.trim(), '42')
})

test('the guard itself trips when an integration is imported', async () => {
  const outcome = await runChild(childImporting(new URL('kysely.js', INTEGRATIONS_URL).href), 30_000)
  assert.notEqual(outcome.code, 0)
  assert.match(outcome.stderr, /optional module loaded/)
})
