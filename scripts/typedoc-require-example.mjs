/**
 * A TypeDoc plugin: every exported name (class, function, interface, type alias, variable) and
 * every public method of an exported class must have an `@example` in its TSDoc. A missing one is
 * a TypeDoc warning, and `treatWarningsAsErrors` (typedoc.json) turns it into a failed run.
 */
import { Application, ReflectionKind } from 'typedoc'

const TOP_LEVEL =
  ReflectionKind.Class |
  ReflectionKind.Function |
  ReflectionKind.Interface |
  ReflectionKind.TypeAlias |
  ReflectionKind.Variable

/** The comment of a declaration, or of its first signature (functions and methods). */
function commentOf(reflection) {
  return reflection.comment ?? reflection.signatures?.find((s) => s.comment)?.comment
}

function hasExample(reflection) {
  return commentOf(reflection)?.getTag('@example') !== undefined
}

/** @param {Application} app */
export function load(app) {
  app.on(Application.EVENT_VALIDATE_PROJECT, (project) => {
    const missing = []
    for (const reflection of project.getReflectionsByKind(TOP_LEVEL)) {
      if (!reflection.parent?.kindOf(ReflectionKind.Module | ReflectionKind.Project)) continue
      if (!hasExample(reflection)) missing.push(reflection)
      if (!reflection.kindOf(ReflectionKind.Class)) continue
      for (const member of reflection.children ?? []) {
        if (!member.kindOf(ReflectionKind.Method)) continue
        if (member.inheritedFrom) continue // checked where it is declared
        if (!hasExample(member)) missing.push(member)
      }
    }
    for (const reflection of missing) {
      app.logger.warn(`${reflection.getFriendlyFullName()} has no @example in its TSDoc`)
    }
  })
}
