/*
 * The busy handler of an attached connection.
 *
 * better-sqlite3 sets sqlite3_busy_timeout(), whose handler sleeps until the lock frees or the
 * timeout passes and never looks at sqlite3_interrupt(): a writer waiting for a lock could
 * neither be cancelled nor stopped before its timeout. This handler replaces it with the same
 * timeout, but gives up at once (the statement then fails with SQLITE_BUSY) when the connection
 * has been interrupted or the main thread has asked the worker to stop (CTL_STOPPING, written
 * only by the main thread). It sleeps in short steps so that either is noticed within ~10 ms.
 *
 * It runs on the worker's thread, inside a step, so it may use the connection freely.
 *
 * SQLite keeps the timeout it reports (PRAGMA busy_timeout) beside its own handler, and
 * installing another handler sets it to 0. So around a statement that reads or sets the
 * timeout, and around user code holding the raw Database, SQLite's handler is lent back with the
 * timeout (sqlaio_busy_lend); the next statement takes it again with whatever timeout the
 * connection then has (sqlaio_busy_take).
 */
#include "sqlaio.h"

/* Milliseconds slept on the n-th consecutive call for one lock, then STEP_MS for every later one. */
static const int DELAYS[] = {1, 2, 5, 10};
enum { NUM_DELAYS = sizeof DELAYS / sizeof DELAYS[0], STEP_MS = 10 };

static int busy_wait(void *arg, int count) {
  Conn *conn = arg;
  if (sqlite3_is_interrupted(conn->db)) return 0;
  if (__atomic_load_n(&conn->control[CTL_STOPPING], __ATOMIC_SEQ_CST) != 0) return 0;
  int64_t waited = 0;
  for (int i = 0; i < count && i < NUM_DELAYS; i++) waited += DELAYS[i];
  if (count > NUM_DELAYS) waited += (int64_t)(count - NUM_DELAYS) * STEP_MS;
  int delay = count < NUM_DELAYS ? DELAYS[count] : STEP_MS;
  int64_t left = conn->busy_timeout_ms - waited;
  if (left <= 0) return 0;
  sqlite3_sleep(delay < left ? delay : (int)left);
  return 1;
}

void sqlaio_busy_install(Conn *conn, int timeout_ms) {
  conn->busy_timeout_ms = timeout_ms > 0 ? timeout_ms : 0;
  sqlite3_busy_handler(conn->db, busy_wait, conn);
}

void sqlaio_busy_lend(Conn *conn) {
  sqlite3_busy_timeout(conn->db, conn->busy_timeout_ms);
}

void sqlaio_busy_take(Conn *conn) {
  sqlite3_stmt *stmt = NULL;
  int timeout_ms = conn->busy_timeout_ms;
  if (sqlite3_prepare_v2(conn->db, "PRAGMA busy_timeout", -1, &stmt, NULL) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW)
    timeout_ms = sqlite3_column_int(stmt, 0);
  sqlite3_finalize(stmt);
  sqlaio_busy_install(conn, timeout_ms);
}
