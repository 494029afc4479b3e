/*
 * Errors thrown to JS: N-API failures, and SQLite errors shaped like better-sqlite3's SqliteError
 * (name 'SqliteError', `code` the extended result code's name) so both paths reject alike.
 */
#include <stdio.h>

#include "sqlaio.h"

#define CODES(X)                                                                                 \
  X(SQLITE_OK) X(SQLITE_ERROR) X(SQLITE_INTERNAL) X(SQLITE_PERM) X(SQLITE_ABORT) X(SQLITE_BUSY)   \
  X(SQLITE_LOCKED) X(SQLITE_NOMEM) X(SQLITE_READONLY) X(SQLITE_INTERRUPT) X(SQLITE_IOERR)         \
  X(SQLITE_CORRUPT) X(SQLITE_NOTFOUND) X(SQLITE_FULL) X(SQLITE_CANTOPEN) X(SQLITE_PROTOCOL)       \
  X(SQLITE_EMPTY) X(SQLITE_SCHEMA) X(SQLITE_TOOBIG) X(SQLITE_CONSTRAINT) X(SQLITE_MISMATCH)       \
  X(SQLITE_MISUSE) X(SQLITE_NOLFS) X(SQLITE_AUTH) X(SQLITE_FORMAT) X(SQLITE_RANGE)                \
  X(SQLITE_NOTADB) X(SQLITE_NOTICE) X(SQLITE_WARNING) X(SQLITE_ROW) X(SQLITE_DONE)                \
  X(SQLITE_ERROR_MISSING_COLLSEQ) X(SQLITE_ERROR_RETRY) X(SQLITE_ERROR_SNAPSHOT)                  \
  X(SQLITE_ERROR_RESERVESIZE) X(SQLITE_ERROR_KEY) X(SQLITE_ERROR_UNABLE) X(SQLITE_IOERR_READ)     \
  X(SQLITE_IOERR_SHORT_READ) X(SQLITE_IOERR_WRITE) X(SQLITE_IOERR_FSYNC)                          \
  X(SQLITE_IOERR_DIR_FSYNC) X(SQLITE_IOERR_TRUNCATE) X(SQLITE_IOERR_FSTAT)                        \
  X(SQLITE_IOERR_UNLOCK) X(SQLITE_IOERR_RDLOCK) X(SQLITE_IOERR_DELETE) X(SQLITE_IOERR_BLOCKED)    \
  X(SQLITE_IOERR_NOMEM) X(SQLITE_IOERR_ACCESS) X(SQLITE_IOERR_CHECKRESERVEDLOCK)                  \
  X(SQLITE_IOERR_LOCK) X(SQLITE_IOERR_CLOSE) X(SQLITE_IOERR_DIR_CLOSE) X(SQLITE_IOERR_SHMOPEN)    \
  X(SQLITE_IOERR_SHMSIZE) X(SQLITE_IOERR_SHMLOCK) X(SQLITE_IOERR_SHMMAP) X(SQLITE_IOERR_SEEK)     \
  X(SQLITE_IOERR_DELETE_NOENT) X(SQLITE_IOERR_MMAP) X(SQLITE_IOERR_GETTEMPPATH)                   \
  X(SQLITE_IOERR_CONVPATH) X(SQLITE_IOERR_VNODE) X(SQLITE_IOERR_AUTH)                             \
  X(SQLITE_IOERR_BEGIN_ATOMIC) X(SQLITE_IOERR_COMMIT_ATOMIC) X(SQLITE_IOERR_ROLLBACK_ATOMIC)      \
  X(SQLITE_IOERR_DATA) X(SQLITE_IOERR_CORRUPTFS) X(SQLITE_IOERR_IN_PAGE) X(SQLITE_IOERR_BADKEY)   \
  X(SQLITE_IOERR_CODEC) X(SQLITE_LOCKED_SHAREDCACHE) X(SQLITE_LOCKED_VTAB)                        \
  X(SQLITE_BUSY_RECOVERY) X(SQLITE_BUSY_SNAPSHOT) X(SQLITE_BUSY_TIMEOUT)                          \
  X(SQLITE_CANTOPEN_NOTEMPDIR) X(SQLITE_CANTOPEN_ISDIR) X(SQLITE_CANTOPEN_FULLPATH)               \
  X(SQLITE_CANTOPEN_CONVPATH) X(SQLITE_CANTOPEN_DIRTYWAL) X(SQLITE_CANTOPEN_SYMLINK)              \
  X(SQLITE_CORRUPT_VTAB) X(SQLITE_CORRUPT_SEQUENCE) X(SQLITE_CORRUPT_INDEX)                       \
  X(SQLITE_READONLY_RECOVERY) X(SQLITE_READONLY_CANTLOCK) X(SQLITE_READONLY_ROLLBACK)             \
  X(SQLITE_READONLY_DBMOVED) X(SQLITE_READONLY_CANTINIT) X(SQLITE_READONLY_DIRECTORY)             \
  X(SQLITE_ABORT_ROLLBACK) X(SQLITE_CONSTRAINT_CHECK) X(SQLITE_CONSTRAINT_COMMITHOOK)             \
  X(SQLITE_CONSTRAINT_FOREIGNKEY) X(SQLITE_CONSTRAINT_FUNCTION) X(SQLITE_CONSTRAINT_NOTNULL)      \
  X(SQLITE_CONSTRAINT_PRIMARYKEY) X(SQLITE_CONSTRAINT_TRIGGER) X(SQLITE_CONSTRAINT_UNIQUE)        \
  X(SQLITE_CONSTRAINT_VTAB) X(SQLITE_CONSTRAINT_ROWID) X(SQLITE_CONSTRAINT_PINNED)                \
  X(SQLITE_CONSTRAINT_DATATYPE) X(SQLITE_NOTICE_RECOVER_WAL) X(SQLITE_NOTICE_RECOVER_ROLLBACK)    \
  X(SQLITE_NOTICE_RBU) X(SQLITE_WARNING_AUTOINDEX) X(SQLITE_AUTH_USER)                            \
  X(SQLITE_OK_LOAD_PERMANENTLY)

const char *sqlaio_code_name(int code) {
  switch (code) {
#define CASE(name)                                                                               \
  case name:                                                                                     \
    return #name;
    CODES(CASE)
#undef CASE
  }
  return NULL;
}

void sqlaio_throw_napi(napi_env env, const char *call) {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) return;
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info);
  char message[512];
  snprintf(message, sizeof message, "sqlaio native: %s failed (%s)", call,
           info && info->error_message ? info->error_message : "unknown N-API error");
  napi_throw_error(env, NULL, message);
}

void sqlaio_throw_sqlite(napi_env env, int code, const char *message) {
  char unknown[48];
  const char *name = sqlaio_code_name(code);
  if (name == NULL) {
    snprintf(unknown, sizeof unknown, "UNKNOWN_SQLITE_ERROR_%d", code);
    name = unknown;
  }
  napi_value js_message, js_code, js_name, error;
  if (napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &js_message) != napi_ok ||
      napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &js_code) != napi_ok ||
      napi_create_string_utf8(env, "SqliteError", NAPI_AUTO_LENGTH, &js_name) != napi_ok ||
      napi_create_error(env, js_code, js_message, &error) != napi_ok ||
      napi_set_named_property(env, error, "name", js_name) != napi_ok) {
    sqlaio_throw_napi(env, "creating a SqliteError");
    return;
  }
  napi_throw(env, error);
}

/*
 * After a step of `stmt` failed: reads the error as better-sqlite3 reports it (extended code,
 * message), then lets `end` reset the statement, then throws it. Returns the extended code.
 *
 * When a user function (better-sqlite3's db.function/aggregate/table) threw, better-sqlite3
 * fails the call with an empty message and leaves the JS exception scheduled in V8, where N-API
 * cannot see it. Nothing is thrown then: returning lets that exception propagate, the error the
 * JS path reports too. better-sqlite3 has also set its "was_js_error" flag, which the JS side
 * must let it consume (see NativeReader.stepFailed): `js_error` says so.
 */
int sqlaio_step_error(napi_env env, Stmt *stmt, void (*end)(Stmt *stmt)) {
  sqlite3 *db = sqlite3_db_handle(stmt->handle);
  int code = sqlite3_extended_errcode(db);
  if (code == SQLITE_ERROR && sqlite3_errmsg(db)[0] == '\0') {
    stmt->conn->js_error = 1;
    end(stmt);
    return code;
  }
  char *message = sqlite3_mprintf("%s", sqlite3_errmsg(db));
  end(stmt);
  sqlaio_throw_sqlite(env, code, message ? message : "out of memory");
  sqlite3_free(message);
  return code;
}
