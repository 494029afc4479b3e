/*
 * The N-API surface and the SQLite extension entry point.
 *
 * Attaching (worker thread): JS `require`s this library, then calls better-sqlite3's
 * `db.loadExtension(<this file>, 'sqlite3_sqlaio_init')`. SQLite runs the init below on that same
 * thread, inside that call, with the connection's `sqlite3*` and better-sqlite3's API table; the
 * init parks the pointer in a thread-local slot, and `attach()` (called right after) takes it.
 *
 * Handles are JS objects type-tagged as a connection or a statement and wrapping a C struct.
 * A statement struct holds a reference on its connection struct, so whichever wrapper the GC
 * finalizes first, nothing is freed while referenced. A handle whose connection was detached,
 * or whose statement was finalized, is stale: every call on it throws instead of touching SQLite.
 *
 * Teardown: an environment cleanup hook detaches every connection still attached in the
 * environment (finalizing its statements and removing it from the interrupt registry). It is
 * registered when this library loads, which is after better-sqlite3 loaded (the worker imports
 * it first), and cleanup hooks run in reverse order of registration: so a terminated worker
 * detaches here before better-sqlite3's own hook closes its databases.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlaio.h"

SQLITE_EXTENSION_INIT1

static const napi_type_tag CONN_TAG = {0x5c1a10c0a0e14e2bULL, 0x9d7f6f0b3c2a1e01ULL};
static const napi_type_tag STMT_TAG = {0x5c1a10c0a0e14e2bULL, 0x9d7f6f0b3c2a1e02ULL};

/* The connection whose extension init ran last on this thread, until attach() takes it. */
static _Thread_local sqlite3 *loading;

#if defined(_WIN32)
__declspec(dllexport)
#else
__attribute__((visibility("default")))
#endif
int sqlite3_sqlaio_init(sqlite3 *db, char **error, const sqlite3_api_routines *api) {
  if (!sqlaio_registry_set_api(api)) {
    *error = api->mprintf("sqlaio: the extension is already bound to another SQLite library");
    return SQLITE_ERROR;
  }
  loading = db;
  return SQLITE_OK;
}

/* ---- Lifetimes ------------------------------------------------------------------------------ */

static void conn_release(Conn *conn) {
  if (--conn->refs == 0) free(conn);
}

void sqlaio_stmt_finalize(Stmt *stmt) {
  if (stmt->handle == NULL) return;
  Conn *conn = stmt->conn;
  if (conn->batch.owner == stmt) conn->batch.owner = NULL;
  sqlite3_finalize(stmt->handle);
  stmt->handle = NULL;
  stmt->busy = 0;
  free(stmt->declared);
  stmt->declared = NULL;
  if (stmt->prev) stmt->prev->next = stmt->next;
  else conn->stmts = stmt->next;
  if (stmt->next) stmt->next->prev = stmt->prev;
  stmt->prev = stmt->next = NULL;
}

void sqlaio_conn_detach(Conn *conn) {
  if (conn->db == NULL) return;
  /* First: from here on no interrupt can be aimed at this connection (see registry.c). */
  sqlaio_registry_remove(conn->registry_id);
  conn->registry_id = 0;
  while (conn->stmts) sqlaio_stmt_finalize(conn->stmts);
  sqlite3_finalize(conn->pin);
  conn->pin = NULL;
  EnvState *state = conn->state;
  if (conn->prev) conn->prev->next = conn->next;
  else state->conns = conn->next;
  if (conn->next) conn->next->prev = conn->prev;
  conn->prev = conn->next = NULL;
  conn->state = NULL;
  sqlaio_batch_free(&conn->batch);
  /* The busy handler reads this struct: hand the connection back better-sqlite3's own. */
  sqlite3_busy_timeout(conn->db, conn->busy_timeout_ms);
  conn->control = NULL;
  conn->db = NULL;
}

static void conn_finalize(napi_env env, void *data, void *hint) {
  Conn *conn = data;
  sqlaio_conn_detach(conn);
  if (conn->control_ref != NULL) napi_delete_reference(env, conn->control_ref);
  conn->control_ref = NULL;
  conn_release(conn);
}

static void stmt_finalize(napi_env env, void *data, void *hint) {
  Stmt *stmt = data;
  sqlaio_stmt_finalize(stmt);
  conn_release(stmt->conn);
  free(stmt);
}

static void env_cleanup(void *data) {
  EnvState *state = data;
  while (state->conns) sqlaio_conn_detach(state->conns);
  free(state);
}

/* ---- Handle checks -------------------------------------------------------------------------- */

static void *unwrap_tagged(napi_env env, napi_value value, const napi_type_tag *tag, const char *what) {
  napi_valuetype type;
  bool tagged = false;
  void *data = NULL;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_object ||
      napi_check_object_type_tag(env, value, tag, &tagged) != napi_ok || !tagged ||
      napi_unwrap(env, value, &data) != napi_ok) {
    char message[96];
    snprintf(message, sizeof message, "sqlaio native: expected a %s handle", what);
    napi_throw_type_error(env, NULL, message);
    return NULL;
  }
  return data;
}

static Conn *get_conn(napi_env env, napi_value value) {
  Conn *conn = unwrap_tagged(env, value, &CONN_TAG, "connection");
  if (conn != NULL && conn->db == NULL) {
    napi_throw_error(env, NULL, "sqlaio native: the connection handle is detached");
    return NULL;
  }
  return conn;
}

static Stmt *get_stmt(napi_env env, napi_value value) {
  Stmt *stmt = unwrap_tagged(env, value, &STMT_TAG, "statement");
  if (stmt != NULL && stmt->handle == NULL) {
    napi_throw_error(env, NULL, "sqlaio native: the statement handle is finalized");
    return NULL;
  }
  return stmt;
}

/* A statement with no open cursor (better-sqlite3's error otherwise). */
static Stmt *get_idle_stmt(napi_env env, napi_value value) {
  Stmt *stmt = get_stmt(env, value);
  if (stmt != NULL && stmt->busy) {
    napi_throw_type_error(env, NULL, "This statement is busy executing a query");
    return NULL;
  }
  return stmt;
}

static Stmt *get_open_stmt(napi_env env, napi_value value) {
  Stmt *stmt = get_stmt(env, value);
  if (stmt != NULL && !stmt->busy) {
    napi_throw_error(env, NULL, "sqlaio native: the statement has no open cursor");
    return NULL;
  }
  return stmt;
}

static napi_value undefined(napi_env env) {
  napi_value out;
  NAPI_CALL(env, napi_get_undefined(env, &out));
  return out;
}

static napi_value boolean(napi_env env, bool value) {
  napi_value out;
  NAPI_CALL(env, napi_get_boolean(env, value, &out));
  return out;
}

/* ---- Functions ------------------------------------------------------------------------------ */

/* The control block's fields, from an Int32Array over (shared) memory; NULL after throwing. */
static int32_t *control_fields(napi_env env, napi_value value) {
  bool is_typed = false;
  napi_typedarray_type type = napi_int8_array;
  size_t length = 0;
  void *data = NULL;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, value, &type, &length, &data, NULL, NULL) != napi_ok ||
      type != napi_int32_array || length < CTL_FIELDS) {
    napi_throw_type_error(env, NULL, "sqlaio native: expected the worker's control block (an Int32Array)");
    return NULL;
  }
  return data;
}

/*
 * attach(control, busyTimeoutMs): the connection that just loaded the extension on this thread,
 * as a handle. `control` is the worker's control block: the registry reads its runningId to aim
 * interrupts, and the busy handler its stopping flag.
 */
static napi_value js_attach(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  GET_ARGS(env, info, 2, argv);
  int32_t *control = control_fields(env, argv[0]);
  if (control == NULL) return NULL;
  int32_t busy_timeout_ms = 0;
  NAPI_CALL(env, napi_get_value_int32(env, argv[1], &busy_timeout_ms));
  EnvState *state;
  NAPI_CALL(env, napi_get_instance_data(env, (void **)&state));
  if (loading == NULL) {
    napi_throw_error(env, NULL, "sqlaio native: no connection has loaded the extension on this thread");
    return NULL;
  }
  sqlite3 *db = loading;
  loading = NULL;
  Conn *conn = calloc(1, sizeof *conn);
  if (conn == NULL) {
    napi_throw_error(env, NULL, "Out of memory");
    return NULL;
  }
  int rc = sqlite3_prepare_v3(db, "PRAGMA data_version", -1, SQLITE_PREPARE_PERSISTENT, &conn->pin, NULL);
  if (rc != SQLITE_OK) {
    free(conn);
    sqlaio_throw_sqlite(env, rc, sqlite3_errmsg(db));
    return NULL;
  }
  if (napi_create_reference(env, argv[0], 1, &conn->control_ref) != napi_ok) {
    sqlite3_finalize(conn->pin);
    free(conn);
    sqlaio_throw_napi(env, "referencing the control block");
    return NULL;
  }
  conn->registry_id = sqlaio_registry_add(db, control);
  if (conn->registry_id == 0) {
    sqlite3_finalize(conn->pin);
    napi_delete_reference(env, conn->control_ref);
    free(conn);
    napi_throw_error(env, NULL, "sqlaio native: cannot register the connection");
    return NULL;
  }
  conn->db = db;
  conn->control = control;
  /* The timeout the connection has now (the option's, unless something set another). */
  conn->busy_timeout_ms = busy_timeout_ms;
  sqlaio_busy_take(conn);
  conn->refs = 1;
  conn->state = state;
  conn->next = state->conns;
  if (state->conns) state->conns->prev = conn;
  state->conns = conn;
  napi_value handle;
  if (napi_create_object(env, &handle) != napi_ok ||
      napi_type_tag_object(env, handle, &CONN_TAG) != napi_ok ||
      napi_wrap(env, handle, conn, conn_finalize, NULL, NULL) != napi_ok) {
    sqlaio_conn_detach(conn);
    free(conn);
    sqlaio_throw_napi(env, "wrapping a connection");
    return NULL;
  }
  return handle;
}

/* connectionId(conn): the connection's interrupt registry id. */
static napi_value js_connection_id(napi_env env, napi_callback_info info) {
  napi_value argv[1], out;
  GET_ARGS(env, info, 1, argv);
  Conn *conn = get_conn(env, argv[0]);
  if (conn == NULL) return NULL;
  NAPI_CALL(env, napi_create_uint32(env, conn->registry_id, &out));
  return out;
}

/* takeJsError(conn): whether a step failed because a user JS function threw; clears the mark. */
static napi_value js_take_js_error(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  GET_ARGS(env, info, 1, argv);
  Conn *conn = get_conn(env, argv[0]);
  if (conn == NULL) return NULL;
  bool taken = conn->js_error != 0;
  conn->js_error = 0;
  return boolean(env, taken);
}

/* detach(conn): finalizes its statements and unregisters it; call before closing the database. */
static napi_value js_detach(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  GET_ARGS(env, info, 1, argv);
  Conn *conn = unwrap_tagged(env, argv[0], &CONN_TAG, "connection");
  if (conn == NULL) return NULL;
  sqlaio_conn_detach(conn);
  return undefined(env);
}

/* prepare(conn, sql): a statement handle. */
static napi_value js_prepare(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  GET_ARGS(env, info, 2, argv);
  Conn *conn = get_conn(env, argv[0]);
  if (conn == NULL) return NULL;
  size_t length;
  NAPI_CALL(env, napi_get_value_string_utf8(env, argv[1], NULL, 0, &length));
  char *sql = malloc(length + 1);
  if (sql == NULL) {
    napi_throw_error(env, NULL, "Out of memory");
    return NULL;
  }
  if (napi_get_value_string_utf8(env, argv[1], sql, length + 1, &length) != napi_ok) {
    free(sql);
    sqlaio_throw_napi(env, "napi_get_value_string_utf8");
    return NULL;
  }
  sqlite3_stmt *handle = NULL;
  int rc = sqlite3_prepare_v3(conn->db, sql, (int)length, SQLITE_PREPARE_PERSISTENT, &handle, NULL);
  free(sql);
  if (rc != SQLITE_OK) {
    sqlaio_throw_sqlite(env, sqlite3_extended_errcode(conn->db), sqlite3_errmsg(conn->db));
    return NULL;
  }
  if (handle == NULL) {
    napi_throw_range_error(env, NULL, "The supplied SQL string contains no statements");
    return NULL;
  }
  Stmt *stmt = calloc(1, sizeof *stmt);
  if (stmt == NULL) {
    sqlite3_finalize(handle);
    napi_throw_error(env, NULL, "Out of memory");
    return NULL;
  }
  stmt->handle = handle;
  stmt->conn = conn;
  conn->refs++;
  stmt->next = conn->stmts;
  if (conn->stmts) conn->stmts->prev = stmt;
  conn->stmts = stmt;
  napi_value out;
  if (napi_create_object(env, &out) != napi_ok || napi_type_tag_object(env, out, &STMT_TAG) != napi_ok ||
      napi_wrap(env, out, stmt, stmt_finalize, NULL, NULL) != napi_ok) {
    sqlaio_stmt_finalize(stmt);
    conn_release(conn);
    free(stmt);
    sqlaio_throw_napi(env, "wrapping a statement");
    return NULL;
  }
  return out;
}

/*
 * open(stmt, params, declared): binds `params` and opens a cursor. `declared[c]` is the kind an
 * all-NULL column c takes (from the declared type, computed in JS as for the JS writers).
 * Returns whether the statement is read-only.
 */
static napi_value js_open(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  GET_ARGS(env, info, 3, argv);
  Stmt *stmt = get_idle_stmt(env, argv[0]);
  if (stmt == NULL) return NULL;
  uint32_t columns;
  bool is_array = false;
  NAPI_CALL(env, napi_is_array(env, argv[2], &is_array));
  if (!is_array) {
    napi_throw_type_error(env, NULL, "sqlaio native: declared kinds must be an array");
    return NULL;
  }
  NAPI_CALL(env, napi_get_array_length(env, argv[2], &columns));
  uint8_t *declared = malloc(columns ? columns : 1);
  if (declared == NULL) {
    napi_throw_error(env, NULL, "Out of memory");
    return NULL;
  }
  for (uint32_t c = 0; c < columns; c++) {
    napi_value element;
    int32_t kind = -1;
    if (napi_get_element(env, argv[2], c, &element) != napi_ok ||
        napi_get_value_int32(env, element, &kind) != napi_ok || kind < KIND_NULL || kind > KIND_BLOB) {
      free(declared);
      napi_throw_range_error(env, NULL, "sqlaio native: a declared kind must be a ColumnKind below Mixed");
      return NULL;
    }
    declared[c] = (uint8_t)kind;
  }
  sqlite3_reset(stmt->handle);
  sqlite3_clear_bindings(stmt->handle);
  if (!sqlaio_bind(env, stmt->handle, argv[1])) {
    free(declared);
    sqlite3_clear_bindings(stmt->handle);
    return NULL;
  }
  free(stmt->declared);
  stmt->declared = declared;
  stmt->columns = (int)columns;
  stmt->busy = 1;
  return boolean(env, sqlite3_stmt_readonly(stmt->handle) != 0);
}

/* step(stmt, maxRows): steps a batch; returns { numRows, byteLength, done, columns }. */
static napi_value js_step(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  GET_ARGS(env, info, 2, argv);
  Stmt *stmt = get_open_stmt(env, argv[0]);
  if (stmt == NULL) return NULL;
  int64_t max_rows = 0;
  NAPI_CALL(env, napi_get_value_int64(env, argv[1], &max_rows));
  if (max_rows < 1) {
    napi_throw_range_error(env, NULL, "sqlaio native: maxRows must be at least 1");
    return NULL;
  }
  int outcome = sqlaio_batch_step(env, stmt, max_rows);
  if (outcome != SQLITE_ROW && outcome != SQLITE_DONE) return NULL;
  return sqlaio_batch_describe(env, &stmt->conn->batch, outcome == SQLITE_DONE);
}

/* The bytes of a Uint8Array argument; 0 after throwing a TypeError naming `what`. */
static int uint8_view(napi_env env, napi_value value, const char *what, void **data, size_t *length) {
  bool is_typed = false;
  napi_typedarray_type type = napi_int8_array;
  NAPI_OR_RETURN(env, napi_is_typedarray(env, value, &is_typed), 0);
  if (is_typed) NAPI_OR_RETURN(env, napi_get_typedarray_info(env, value, &type, length, data, NULL, NULL), 0);
  if (!is_typed || type != napi_uint8_array) {
    char message[96];
    snprintf(message, sizeof message, "sqlaio native: %s must be a Uint8Array", what);
    napi_throw_type_error(env, NULL, message);
    return 0;
  }
  return 1;
}

/* fill(stmt, target): copies the batch `step` just made into a zeroed (shared) Uint8Array. */
static napi_value js_fill(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  GET_ARGS(env, info, 2, argv);
  Stmt *stmt = get_stmt(env, argv[0]);
  if (stmt == NULL) return NULL;
  Batch *batch = &stmt->conn->batch;
  if (batch->owner != stmt) {
    napi_throw_error(env, NULL, "sqlaio native: no batch of this statement is waiting to be filled");
    return NULL;
  }
  size_t length = 0;
  void *data = NULL;
  if (!uint8_view(env, argv[1], "fill target", &data, &length)) return NULL;
  if ((int64_t)length < batch->total_bytes || ((uintptr_t)data & 7) != 0) {
    napi_throw_range_error(env, NULL, "sqlaio native: fill target is too small or not 8-byte aligned");
    return NULL;
  }
  sqlaio_batch_fill(batch, data);
  return undefined(env);
}

/*
 * runPacked(stmt, packed, count): runs `stmt` (a statement that returns no rows) once for each
 * of `count` parameter sets packed in the Uint8Array `packed` (src/thread/packed-params.ts);
 * returns the number of rows changed in total.
 */
static napi_value js_run_packed(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  GET_ARGS(env, info, 3, argv);
  Stmt *stmt = get_idle_stmt(env, argv[0]);
  if (stmt == NULL) return NULL;
  size_t length = 0;
  void *data = NULL;
  if (!uint8_view(env, argv[1], "packed parameters", &data, &length)) return NULL;
  uint32_t count = 0;
  NAPI_CALL(env, napi_get_value_uint32(env, argv[2], &count));
  PackedReader sets = {data, (const uint8_t *)data + length};
  int64_t changes = 0;
  if (!sqlaio_run_packed(env, stmt, &sets, count, &changes)) return NULL;
  return sqlaio_number(env, changes);
}

/*
 * runArrow(stmt, columns, rows, names): runs `stmt` (a statement that returns no rows) once per
 * row of one record batch, whose columns (src/dialects/sqlite/native-arrow.ts describes them) bind
 * by position, or by the column names in `names` when it is an array; returns the rows changed.
 */
static napi_value js_run_arrow(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  GET_ARGS(env, info, 4, argv);
  Stmt *stmt = get_idle_stmt(env, argv[0]);
  if (stmt == NULL) return NULL;
  int64_t rows = 0;
  NAPI_CALL(env, napi_get_value_int64(env, argv[2], &rows));
  bool by_name = false;
  NAPI_CALL(env, napi_is_array(env, argv[3], &by_name));
  ArrowColumn *columns;
  uint32_t count;
  if (rows < 0 || !sqlaio_arrow_columns(env, argv[1], rows, &columns, &count)) {
    if (rows < 0) napi_throw_range_error(env, NULL, "sqlaio native: rows must not be negative");
    return NULL;
  }
  int64_t changes = 0;
  int ok = sqlaio_run_arrow(env, stmt, columns, count, rows, by_name ? argv[3] : NULL, &changes);
  free(columns);
  if (!ok) return NULL;
  return sqlaio_number(env, changes);
}

/*
 * dataVersion(conn): what `PRAGMA data_version` answers (it changes when another connection has
 * committed), stepped here on the connection's pinned statement: the driver asks before every
 * statement it runs, and better-sqlite3's own `get()` cost several microseconds of that.
 */
static napi_value js_data_version(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  GET_ARGS(env, info, 1, argv);
  Conn *conn = get_conn(env, argv[0]);
  if (conn == NULL) return NULL;
  int rc = sqlite3_step(conn->pin);
  int64_t version = rc == SQLITE_ROW ? sqlite3_column_int64(conn->pin, 0) : 0;
  sqlite3_reset(conn->pin);
  if (rc != SQLITE_ROW) {
    sqlaio_throw_sqlite(env, sqlite3_extended_errcode(conn->db), sqlite3_errmsg(conn->db));
    return NULL;
  }
  return sqlaio_number(env, version);
}

/* close(stmt): ends the open cursor, if any (resetting the statement). */
static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  GET_ARGS(env, info, 1, argv);
  Stmt *stmt = get_stmt(env, argv[0]);
  if (stmt == NULL) return NULL;
  if (stmt->conn->batch.owner == stmt) stmt->conn->batch.owner = NULL;
  if (stmt->busy) {
    sqlite3_reset(stmt->handle);
    stmt->busy = 0;
  }
  return undefined(env);
}

/* finalize(stmt): frees the statement now; the handle becomes stale. */
static napi_value js_finalize(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  GET_ARGS(env, info, 1, argv);
  Stmt *stmt = unwrap_tagged(env, argv[0], &STMT_TAG, "statement");
  if (stmt == NULL) return NULL;
  sqlaio_stmt_finalize(stmt);
  return undefined(env);
}

/*
 * interrupt(id, request): sqlite3_interrupt() on registered connection `id`, from any thread,
 * only while its worker runs `request` (0: whatever it runs). Returns whether it interrupted.
 */
static napi_value js_interrupt(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  GET_ARGS(env, info, 2, argv);
  uint32_t id = 0;
  int32_t request = 0;
  napi_valuetype id_type, request_type;
  NAPI_CALL(env, napi_typeof(env, argv[0], &id_type));
  NAPI_CALL(env, napi_typeof(env, argv[1], &request_type));
  if (id_type != napi_number || request_type != napi_number) {
    napi_throw_type_error(env, NULL, "sqlaio native: interrupt() takes a connection id and a request id");
    return NULL;
  }
  NAPI_CALL(env, napi_get_value_uint32(env, argv[0], &id));
  NAPI_CALL(env, napi_get_value_int32(env, argv[1], &request));
  return boolean(env, id != 0 && sqlaio_registry_interrupt(id, request));
}

/* setRunning(conn, request): publishes the request the worker runs (0: none); see registry.c. */
static napi_value js_set_running(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  GET_ARGS(env, info, 2, argv);
  Conn *conn = get_conn(env, argv[0]);
  if (conn == NULL) return NULL;
  int32_t request = 0;
  NAPI_CALL(env, napi_get_value_int32(env, argv[1], &request));
  sqlaio_registry_publish_running(conn->control, request);
  return undefined(env);
}

/* busyHandler(conn, lend): lends SQLite's own busy handler back (true) or takes it again (false). */
static napi_value js_busy_handler(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  GET_ARGS(env, info, 2, argv);
  Conn *conn = get_conn(env, argv[0]);
  if (conn == NULL) return NULL;
  bool lend = false;
  NAPI_CALL(env, napi_get_value_bool(env, argv[1], &lend));
  if (lend) sqlaio_busy_lend(conn);
  else sqlaio_busy_take(conn);
  return undefined(env);
}

NAPI_MODULE_INIT() {
  EnvState *state = calloc(1, sizeof *state);
  if (state == NULL) {
    napi_throw_error(env, NULL, "Out of memory");
    return NULL;
  }
  if (napi_set_instance_data(env, state, NULL, NULL) != napi_ok ||
      napi_add_env_cleanup_hook(env, env_cleanup, state) != napi_ok) {
    free(state);
    sqlaio_throw_napi(env, "setting up the environment state");
    return NULL;
  }
  napi_property_descriptor functions[] = {
      {"attach", NULL, js_attach, NULL, NULL, NULL, napi_enumerable, NULL},
      {"connectionId", NULL, js_connection_id, NULL, NULL, NULL, napi_enumerable, NULL},
      {"takeJsError", NULL, js_take_js_error, NULL, NULL, NULL, napi_enumerable, NULL},
      {"detach", NULL, js_detach, NULL, NULL, NULL, napi_enumerable, NULL},
      {"prepare", NULL, js_prepare, NULL, NULL, NULL, napi_enumerable, NULL},
      {"open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"step", NULL, js_step, NULL, NULL, NULL, napi_enumerable, NULL},
      {"fill", NULL, js_fill, NULL, NULL, NULL, napi_enumerable, NULL},
      {"runPacked", NULL, js_run_packed, NULL, NULL, NULL, napi_enumerable, NULL},
      {"dataVersion", NULL, js_data_version, NULL, NULL, NULL, napi_enumerable, NULL},
      {"runArrow", NULL, js_run_arrow, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"finalize", NULL, js_finalize, NULL, NULL, NULL, napi_enumerable, NULL},
      {"interrupt", NULL, js_interrupt, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setRunning", NULL, js_set_running, NULL, NULL, NULL, napi_enumerable, NULL},
      {"busyHandler", NULL, js_busy_handler, NULL, NULL, NULL, napi_enumerable, NULL},
      {"adjustExternalMemory", NULL, sqlaio_js_adjust_external_memory, NULL, NULL, NULL, napi_enumerable, NULL},
      {"adviseHugePages", NULL, sqlaio_js_advise_huge_pages, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  NAPI_CALL(env, napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions));
  return exports;
}
