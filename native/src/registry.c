/*
 * The interrupt registry: a process-global table from registry id to a worker's `sqlite3*`.
 *
 * Who touches it: a worker adds its connection when it attaches and removes it when it detaches
 * (explicitly before better-sqlite3 closes the database, or from the environment cleanup hook
 * when the worker is terminated, which runs before better-sqlite3's own cleanup closes it). The
 * main thread looks an id up and calls sqlite3_interrupt() on it. The lookup and the call happen
 * under the same mutex as removal, so an interrupt can never reach a connection that has already
 * been removed, and removal always precedes the close: no interrupt touches a freed connection.
 *
 * Ids are never reused (a 32-bit counter), so an id from a dead worker cannot hit a new one.
 *
 * The same mutex also orders the worker's `runningId` (CTL_RUNNING_ID of its control block)
 * against interrupts: the worker publishes every change of it through
 * sqlaio_registry_publish_running, and an interrupt meant for one request checks that field and
 * calls sqlite3_interrupt() inside one critical section. So an interrupt for request N can only
 * land while the worker still names N as running; it can never reach the statement of the next
 * request (a statement of N that has already finished leaves SQLite's interrupt flag to be
 * cleared when the next statement starts, as none is active then).
 */
#include <stdlib.h>
#include <uv.h>

#include "sqlaio.h"

typedef struct {
  uint32_t id;
  sqlite3 *db;
  int32_t *control;
} Entry;

static uv_once_t once = UV_ONCE_INIT;
static uv_mutex_t mutex;
static Entry *entries;
static size_t count;
static size_t capacity;
static uint32_t last_id;

static void init_mutex(void) {
  if (uv_mutex_init(&mutex) != 0) abort();
}

int sqlaio_registry_set_api(const sqlite3_api_routines *api) {
  uv_once(&once, init_mutex);
  int ok = 1;
  uv_mutex_lock(&mutex);
  /*
   * sqlite3_api is read without a lock by every SQLite call in this library. It is written once,
   * here, under the mutex, by the first extension init; every later reader either is that thread
   * or has itself taken this mutex (in its own init, or in sqlaio_registry_interrupt) since.
   */
  if (sqlite3_api == NULL) sqlite3_api = api;
  else if (sqlite3_api != api) ok = 0;
  uv_mutex_unlock(&mutex);
  return ok;
}

uint32_t sqlaio_registry_add(sqlite3 *db, int32_t *control) {
  uv_once(&once, init_mutex);
  uint32_t id = 0;
  uv_mutex_lock(&mutex);
  if (count == capacity) {
    size_t grown = capacity ? capacity * 2 : 8;
    Entry *moved = realloc(entries, grown * sizeof(Entry));
    if (moved == NULL) goto done;
    entries = moved;
    capacity = grown;
  }
  if (last_id == UINT32_MAX) goto done;
  id = ++last_id;
  entries[count].id = id;
  entries[count].db = db;
  entries[count].control = control;
  count++;
done:
  uv_mutex_unlock(&mutex);
  return id;
}

void sqlaio_registry_remove(uint32_t id) {
  uv_once(&once, init_mutex);
  uv_mutex_lock(&mutex);
  for (size_t i = 0; i < count; i++) {
    if (entries[i].id == id) {
      entries[i] = entries[--count];
      break;
    }
  }
  if (count == 0) {
    free(entries);
    entries = NULL;
    capacity = 0;
  }
  uv_mutex_unlock(&mutex);
}

int sqlaio_registry_interrupt(uint32_t id, int32_t request) {
  uv_once(&once, init_mutex);
  int interrupted = 0;
  uv_mutex_lock(&mutex);
  for (size_t i = 0; i < count; i++) {
    if (entries[i].id == id) {
      int32_t running = __atomic_load_n(&entries[i].control[CTL_RUNNING_ID], __ATOMIC_SEQ_CST);
      if (request == 0 || running == request) {
        /* Thread-safe by SQLite's contract, as long as the connection is open: it is (see top). */
        sqlite3_interrupt(entries[i].db);
        interrupted = 1;
      }
      break;
    }
  }
  uv_mutex_unlock(&mutex);
  return interrupted;
}

void sqlaio_registry_publish_running(int32_t *control, int32_t request) {
  uv_once(&once, init_mutex);
  uv_mutex_lock(&mutex);
  __atomic_store_n(&control[CTL_RUNNING_ID], request, __ATOMIC_SEQ_CST);
  uv_mutex_unlock(&mutex);
}
