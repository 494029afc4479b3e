/*
 * sqlaio native fast path: shared declarations.
 *
 * The library is two things at once. As a SQLite loadable extension (entry point
 * sqlite3_sqlaio_init) it is loaded by better-sqlite3's `db.loadExtension()` and receives that
 * connection's `sqlite3*` and better-sqlite3's own SQLite API table. As an N-API addon it gives the
 * worker handles to that connection and to statements prepared on it, steps those statements
 * straight into the Arrow batch layout of src/thread/protocol.ts, and lets the main thread call
 * sqlite3_interrupt() on a worker's connection.
 *
 * Threads. Everything below runs on the JS thread of the environment (worker) that owns the
 * connection, except the registry (registry.c), which is process-global and mutex-protected
 * because the main thread reads it to interrupt.
 */
#ifndef SQLAIO_H
#define SQLAIO_H

#include <node_api.h>
#include <sqlite3ext.h>
#include <stddef.h>
#include <stdint.h>

SQLITE_EXTENSION_INIT3

/* ---- Argument and status checks ------------------------------------------------------------ */

/* Throws a JS Error describing the failed N-API call (unless one is already pending). */
void sqlaio_throw_napi(napi_env env, const char *call);

/* Evaluates an N-API call; on failure throws and returns `ret` from the enclosing function. */
#define NAPI_OR_RETURN(env, call, ret)                                                           \
  do {                                                                                           \
    if ((call) != napi_ok) {                                                                     \
      sqlaio_throw_napi((env), #call);                                                           \
      return (ret);                                                                              \
    }                                                                                            \
  } while (0)

#define NAPI_CALL(env, call) NAPI_OR_RETURN(env, call, NULL)

/* Fetches exactly `n` arguments into `argv` (and `this` into nothing), or throws a TypeError. */
#define GET_ARGS(env, info, n, argv)                                                             \
  do {                                                                                           \
    size_t argc_ = (n);                                                                          \
    NAPI_CALL(env, napi_get_cb_info((env), (info), &argc_, (argv), NULL, NULL));                 \
    if (argc_ < (n)) {                                                                           \
      napi_throw_type_error((env), NULL, "sqlaio native: expected " #n " argument(s)");          \
      return NULL;                                                                               \
    }                                                                                            \
  } while (0)

/* ---- Column kinds (mirror ColumnKind in src/thread/protocol.ts) ------------------------------- */

enum { KIND_NULL = 0, KIND_INT = 1, KIND_FLOAT = 2, KIND_TEXT = 3, KIND_BLOB = 4, KIND_MIXED = 5 };

/* ---- Batches ------------------------------------------------------------------------------- */

/* Growable byte buffer (text or blob bytes of one column, in row order). */
typedef struct {
  uint8_t *data;
  size_t len;
  size_t cap;
} ByteBuf;

/*
 * Where one column (or one union child) goes in the batch's shared buffer. Positions are byte
 * offsets, 8-byte aligned, -1 when absent: the same meaning as ColumnLayout in protocol.ts.
 */
typedef struct {
  int kind;
  int64_t length;
  int64_t null_count;
  int64_t validity;
  int64_t offsets;
  int64_t values;
  int64_t values_bytes;
  int64_t type_ids;
} Place;

/* A column's placement: the column itself and, for a Mixed column, its five children. */
typedef struct {
  Place column;
  Place child[5];
} ColumnPlace;

/*
 * Worker-local scratch for one batch: cells are stepped in here (row-major, so that growing the
 * row capacity is a realloc), then copied into the shared buffer by `sqlaio_batch_fill`.
 */
typedef struct {
  int columns;           /* columns of the batch being built (the stride of the cell arrays) */
  int64_t rows;          /* rows stepped into the scratch */
  size_t cell_cap;       /* cells the cell arrays can hold */
  int col_cap;           /* columns the per-column arrays can hold */
  uint8_t *kinds;        /* [row][col] KIND_* of each cell */
  int64_t *fixed;        /* [row][col] int64 value or double bits; 0 for other kinds */
  int64_t *ends;         /* [row][col] end of the cell's bytes in its column's ByteBuf */
  ByteBuf *bytes;        /* [col] text/blob bytes */
  ColumnPlace *places;   /* [col] layout computed after stepping */
  int64_t total_bytes;   /* size of the shared buffer the batch needs */
  const void *owner;     /* the statement whose batch waits to be filled, or NULL */
} Batch;

void sqlaio_batch_free(Batch *batch);
/* Frees buffers that grew past a soft cap, so one huge batch does not pin memory for good. */
void sqlaio_batch_trim(Batch *batch);

/* ---- Handles ------------------------------------------------------------------------------- */

typedef struct EnvState EnvState;
typedef struct Conn Conn;
typedef struct Stmt Stmt;

/* Per-environment (per worker) state: the connections attached in it, detached at teardown. */
struct EnvState {
  Conn *conns;
};

struct Conn {
  sqlite3 *db;          /* NULL once detached: the handle is then stale */
  uint32_t registry_id; /* id in the interrupt registry, 0 once unregistered */
  /*
   * A statement kept prepared for as long as the connection is attached. sqlite3_close() (which
   * better-sqlite3 uses) refuses to free a connection with unfinalized statements, so while this
   * exists `db` cannot be freed under the registry, even if user code closes the raw Database.
   * It is `PRAGMA data_version`, which dataVersion() steps.
   */
  sqlite3_stmt *pin;
  Stmt *stmts;          /* statements prepared through this handle and not yet finalized */
  EnvState *state;      /* owning environment while attached */
  Conn *prev, *next;    /* in state->conns */
  int refs;             /* the JS wrapper, plus one per Stmt struct alive */
  int js_error;         /* a step failed because a user JS function threw (see takeJsError) */
  int32_t *control;     /* the worker's control block (CTL_* fields), kept alive by control_ref */
  napi_ref control_ref; /* a strong reference to the control block's Int32Array */
  int busy_timeout_ms;  /* how long the busy handler waits for a lock before giving up */
  Batch batch;
};

struct Stmt {
  sqlite3_stmt *handle; /* NULL once finalized: the handle is then stale */
  Conn *conn;           /* kept alive by a reference (see Conn.refs) */
  Stmt *prev, *next;    /* in conn->stmts while not finalized */
  int busy;             /* a cursor is open on it (bound, maybe stepped, not reset) */
  int columns;          /* columns of the open cursor's batches */
  uint8_t *declared;    /* [columns] kind an all-NULL column takes */
};

void sqlaio_conn_detach(Conn *conn);
void sqlaio_stmt_finalize(Stmt *stmt);

/* ---- Operations ---------------------------------------------------------------------------- */

/* Binds `params` (an array or a plain object) the way better-sqlite3 does; throws on error. */
int sqlaio_bind(napi_env env, sqlite3_stmt *handle, napi_value params);

/*
 * The bytes of a typed array or DataView: 1 (with *data, *bytes), 0 when `value` is neither, -1
 * when N-API fails.
 */
int sqlaio_byte_view(napi_env env, napi_value value, void **data, size_t *bytes);

/* Throws the error better-sqlite3 throws for a failed sqlite3_bind_* status; returns 0. */
int sqlaio_bind_failed(napi_env env, int status);

/* The next positional (unnamed) parameter index after *anon, as better-sqlite3 counts them. */
int sqlaio_next_anonymous(sqlite3_stmt *handle, int *anon);

/*
 * After `bound` parameters were bound (`bound_object`: by name, from a non-empty object): 1 if
 * that is the statement's parameter count, else 0 after throwing better-sqlite3's error.
 */
int sqlaio_check_bound(napi_env env, sqlite3_stmt *handle, int bound, int bound_object);

/* Unread bytes of packed parameter sets (see bind.c). */
typedef struct {
  const uint8_t *at;
  const uint8_t *end;
} PackedReader;

/*
 * Binds the next packed parameter set at r->at (advancing past it), with sqlaio_bind's rules
 * and errors. Returns 1, or 0 with an exception pending.
 */
int sqlaio_bind_packed(napi_env env, sqlite3_stmt *handle, PackedReader *r);

/*
 * Runs `stmt` (no rows) once for each of the `count` packed parameter sets in `sets`, adding the
 * rows each changed to *changes. Returns 1, or 0 with an exception pending (or, when a user
 * function threw, its JS exception scheduled and conn->js_error set).
 */
int sqlaio_run_packed(napi_env env, Stmt *stmt, PackedReader *sets, uint32_t count, int64_t *changes);

/* ---- Arrow columns bound in C (arrow.c) ----------------------------------------------------- */

/* The Arrow types bound in C; numbered as src/dialects/sqlite/native-arrow.ts numbers them. */
enum {
  ARROW_NULL = 0,
  ARROW_INT8 = 1,
  ARROW_INT16 = 2,
  ARROW_INT32 = 3,
  ARROW_INT64 = 4,
  ARROW_UINT8 = 5,
  ARROW_UINT16 = 6,
  ARROW_UINT32 = 7,
  ARROW_UINT64 = 8,
  ARROW_FLOAT32 = 9,
  ARROW_FLOAT64 = 10,
  ARROW_BOOL = 11,
  ARROW_UTF8 = 12,
  ARROW_LARGE_UTF8 = 13,
  ARROW_BINARY = 14,
  ARROW_LARGE_BINARY = 15,
  ARROW_FIXED_BINARY = 16,
};

/* One column of a record batch, its buffers borrowed from JS for the duration of a call. */
typedef struct {
  int kind;                /* ARROW_* */
  int param;               /* the statement parameter it binds, 0 when none */
  const uint8_t *validity; /* NULL when the column has no nulls */
  int64_t offset;          /* bit of the first row in `validity` (and in a Bool's values) */
  const uint8_t *values;
  size_t values_bytes;
  const void *offsets;     /* variable-width kinds: int32 (int64 for the Large ones) per row + 1 */
  int32_t width;           /* fixed-size binary: bytes per value */
} ArrowColumn;

/*
 * Reads the column descriptors in the JS array `list` into a malloc'd array (*out, to free),
 * checking that every buffer covers `rows` rows. Returns 1, or 0 after throwing.
 */
int sqlaio_arrow_columns(napi_env env, napi_value list, int64_t rows, ArrowColumn **out, uint32_t *count);

/*
 * Sets each column's `param`: by position when `names` is NULL, else by the column names in the
 * JS array `names` (better-sqlite3's binding of an array, or of an object). Returns 1, or 0 after
 * throwing "Missing named parameter".
 */
int sqlaio_arrow_params(napi_env env, sqlite3_stmt *handle, ArrowColumn *columns, uint32_t count,
                        napi_value names);

/* Binds row `row` of every mapped column. Returns 1, or 0 after throwing. */
int sqlaio_arrow_bind_row(napi_env env, sqlite3_stmt *handle, const ArrowColumn *columns, uint32_t count,
                          int64_t row);

/*
 * Runs `stmt` (no rows) once per row of the columns, bound by position or by `names` (see
 * sqlaio_arrow_params), adding the rows changed to *changes. Returns as sqlaio_run_packed.
 */
int sqlaio_run_arrow(napi_env env, Stmt *stmt, ArrowColumn *columns, uint32_t count, int64_t rows,
                     napi_value names, int64_t *changes);

/*
 * Steps up to `max_rows` rows into the connection's batch scratch and computes their layout.
 * Returns SQLITE_ROW (batch full, more may follow), SQLITE_DONE (statement exhausted and reset),
 * or an error code (statement reset; the error is thrown).
 */
int sqlaio_batch_step(napi_env env, Stmt *stmt, int64_t max_rows);
/* The JS description ({ numRows, byteLength, done, columns }) of the batch just stepped. */
napi_value sqlaio_batch_describe(napi_env env, Batch *batch, int done);
/* Copies the batch into `target` (at least total_bytes long, zero-filled). */
void sqlaio_batch_fill(Batch *batch, uint8_t *target);

/* adjustExternalMemory(bytes) for JS: reports batch buffers to this thread's V8 (memory.c). */
napi_value sqlaio_js_adjust_external_memory(napi_env env, napi_callback_info info);
napi_value sqlaio_js_advise_huge_pages(napi_env env, napi_callback_info info);

/* Throws a better-sqlite3-shaped SqliteError ({ name: 'SqliteError', code, message }). */
void sqlaio_throw_sqlite(napi_env env, int code, const char *message);
/* Throws the error of `stmt`'s failed step (read before `end` resets it); see errors.c. */
int sqlaio_step_error(napi_env env, Stmt *stmt, void (*end)(Stmt *stmt));
/* A JS number of an int64 (NULL with an exception pending on failure). */
napi_value sqlaio_number(napi_env env, int64_t value);
/* SQLite's name for a result code (extended or primary), or NULL when unknown. */
const char *sqlaio_code_name(int code);

/* ---- Interrupt registry (process-global, thread-safe) ------------------------------------- */

/*
 * Fields of the worker's control block (an Int32Array shared with the main thread) that C reads
 * or writes. They mirror `Ctl` in src/thread/protocol.ts, which documents who writes each.
 */
enum { CTL_RUNNING_ID = 2, CTL_STOPPING = 5, CTL_FIELDS = 8 };

/* Records the API table handed to the extension; fails if another SQLite already did. */
int sqlaio_registry_set_api(const sqlite3_api_routines *api);
/* Registers `db` and its worker's control block; returns the new id, 0 on failure. */
uint32_t sqlaio_registry_add(sqlite3 *db, int32_t *control);
void sqlaio_registry_remove(uint32_t id);
/*
 * Interrupts connection `id` if it is still registered and, unless `request` is 0, only while
 * its worker publishes `request` as running; returns whether it interrupted.
 */
int sqlaio_registry_interrupt(uint32_t id, int32_t request);
/* Publishes `request` (0: none) as the one `control`'s worker is running, under the mutex. */
void sqlaio_registry_publish_running(int32_t *control, int32_t request);

/* ---- Busy handler (busy.c) ---------------------------------------------------------------- */

/* Installs a busy handler like sqlite3_busy_timeout's that also gives up on interrupt or stop. */
void sqlaio_busy_install(Conn *conn, int timeout_ms);
/* Hands SQLite's own busy handler back, with the connection's timeout. */
void sqlaio_busy_lend(Conn *conn);
/* Installs the handler again, with the timeout SQLite's now has (a pragma may have set it). */
void sqlaio_busy_take(Conn *conn);

#endif
