/*
 * Running one statement that returns no rows over many parameter sets (executeMany), as
 * better-sqlite3's `run()` runs it once per set: bind, step once, count the changes, reset. The
 * caller (JS) wraps the whole loop in better-sqlite3's transaction, so it is all or nothing.
 */

#include "sqlaio.h"

/* Ends a run: the statement reset, its parameters unbound. */
static void end_run(Stmt *stmt) {
  sqlite3_reset(stmt->handle);
  sqlite3_clear_bindings(stmt->handle);
}

/*
 * Steps the bound statement once, as better-sqlite3's run() does, and adds the rows it changed.
 * SQLite clears a pending interrupt when a statement starts while none is active, so an interrupt
 * that landed between two runs would be lost: it is honoured here first.
 */
static int run_bound(napi_env env, Stmt *stmt, int64_t *changes) {
  sqlite3_stmt *handle = stmt->handle;
  sqlite3 *db = sqlite3_db_handle(handle);
  if (sqlite3_is_interrupted(db)) {
    end_run(stmt);
    sqlaio_throw_sqlite(env, SQLITE_INTERRUPT, "interrupted");
    return 0;
  }
  sqlite3_int64 before = sqlite3_total_changes64(db);
  int rc = sqlite3_step(handle);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    sqlaio_step_error(env, stmt, end_run);
    return 0;
  }
  /* As better-sqlite3 counts: a statement that changed nothing reports 0, not the last count. */
  if (sqlite3_total_changes64(db) != before) *changes += sqlite3_changes64(db);
  sqlite3_reset(handle);
  return 1;
}

int sqlaio_run_packed(napi_env env, Stmt *stmt, PackedReader *sets, uint32_t count, int64_t *changes) {
  sqlite3_stmt *handle = stmt->handle;
  *changes = 0;
  for (uint32_t i = 0; i < count; i++) {
    sqlite3_reset(handle);
    sqlite3_clear_bindings(handle);
    if (!sqlaio_bind_packed(env, handle, sets)) {
      sqlite3_clear_bindings(handle);
      return 0;
    }
    if (!run_bound(env, stmt, changes)) return 0;
  }
  sqlite3_clear_bindings(handle);
  return 1;
}

int sqlaio_run_arrow(napi_env env, Stmt *stmt, ArrowColumn *columns, uint32_t count, int64_t rows,
                     napi_value names, int64_t *changes) {
  sqlite3_stmt *handle = stmt->handle;
  *changes = 0;
  if (rows == 0) return 1;
  sqlite3_reset(handle);
  sqlite3_clear_bindings(handle);
  /* No columns bind nothing, by position or by name (an empty array or object). */
  if (!sqlaio_arrow_params(env, handle, columns, count, count ? names : NULL)) return 0;
  int bound = 0;
  for (uint32_t i = 0; i < count; i++) bound += columns[i].param != 0;
  for (int64_t row = 0; row < rows; row++) {
    if (!sqlaio_arrow_bind_row(env, handle, columns, count, row) ||
        (row == 0 && !sqlaio_check_bound(env, handle, bound, names != NULL && count > 0))) {
      sqlite3_clear_bindings(handle);
      return 0;
    }
    if (!run_bound(env, stmt, changes)) return 0;
  }
  sqlite3_clear_bindings(handle);
  return 1;
}
