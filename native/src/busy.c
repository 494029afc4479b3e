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
