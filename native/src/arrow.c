/*
 * Arrow in, bound in C: the columns of one record batch, described by the worker
 * (src/dialects/sqlite/native-arrow.ts), bound row by row straight from their Arrow buffers with
 * the values and errors the JS path gets from better-sqlite3 (src/arrow/bindable.ts): integers up
 * to 32 bits, floats and booleans bind as REAL (better-sqlite3 binds every JS number so), 64-bit
 * integers as INTEGER (a Uint64 above 2^63 - 1 fails as too big), strings as TEXT, binaries as
 * BLOB, and a null (or a Null column) as NULL. Types with a conversion of their own (dates,
 * decimals, dictionaries, unions) stay on the JS path.
 *
 * Buffer conventions follow apache-arrow's in-memory `Data`: fixed-width values and the offsets
 * of variable-width columns start at the batch's first row; the validity bitmap, a Bool column's
 * values and variable-width values are indexed from `offset` and by the offsets respectively.
 * Every buffer is checked against the row count before a row is bound.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlaio.h"

static int malformed(napi_env env, const char *what) {
  char message[160];
  snprintf(message, sizeof message, "sqlaio native: the Arrow column's %s is malformed", what);
  napi_throw_error(env, NULL, message);
  return 0;
}

/* A typed array property of `object` (absent, null or undefined: NULL, 0 bytes). */
static int typed_property(napi_env env, napi_value object, const char *name, const void **data, size_t *bytes) {
  napi_value value;
  napi_valuetype type;
  *data = NULL;
  *bytes = 0;
  NAPI_OR_RETURN(env, napi_get_named_property(env, object, name, &value), 0);
  NAPI_OR_RETURN(env, napi_typeof(env, value, &type), 0);
  if (type == napi_null || type == napi_undefined) return 1;
  void *start = NULL;
  int found = sqlaio_byte_view(env, value, &start, bytes);
  if (found < 0) {
    sqlaio_throw_napi(env, "reading an Arrow buffer");
    return 0;
  }
  if (!found) return malformed(env, name);
  *data = start;
  return 1;
}

static int int_property(napi_env env, napi_value object, const char *name, int64_t *out) {
  napi_value value;
  NAPI_OR_RETURN(env, napi_get_named_property(env, object, name, &value), 0);
  NAPI_OR_RETURN(env, napi_get_value_int64(env, value, out), 0);
  return 1;
}

/* Bytes per value of a fixed-width kind; 0 for the others. */
static size_t fixed_size(int kind) {
  switch (kind) {
    case ARROW_INT8:
    case ARROW_UINT8:
      return 1;
    case ARROW_INT16:
    case ARROW_UINT16:
      return 2;
    case ARROW_INT32:
    case ARROW_UINT32:
    case ARROW_FLOAT32:
      return 4;
    case ARROW_INT64:
    case ARROW_UINT64:
    case ARROW_FLOAT64:
      return 8;
    default:
      return 0;
  }
}

static int variable_width(int kind) {
  return kind == ARROW_UTF8 || kind == ARROW_LARGE_UTF8 || kind == ARROW_BINARY || kind == ARROW_LARGE_BINARY;
}

static int large(int kind) {
  return kind == ARROW_LARGE_UTF8 || kind == ARROW_LARGE_BINARY;
}

static int64_t offset_at(const ArrowColumn *c, int64_t row) {
  return large(c->kind) ? ((const int64_t *)c->offsets)[row] : ((const int32_t *)c->offsets)[row];
}

/* Reads one column descriptor and checks its buffers cover `rows` rows. */
static int read_column(napi_env env, napi_value object, int64_t rows, ArrowColumn *c) {
  int64_t kind, offset, width;
  const void *validity, *values, *offsets;
  size_t validity_bytes, values_bytes, offsets_bytes;
  if (!int_property(env, object, "kind", &kind) || !int_property(env, object, "offset", &offset) ||
      !int_property(env, object, "width", &width) ||
      !typed_property(env, object, "validity", &validity, &validity_bytes) ||
      !typed_property(env, object, "values", &values, &values_bytes) ||
      !typed_property(env, object, "offsets", &offsets, &offsets_bytes))
    return 0;
  if (kind < ARROW_NULL || kind > ARROW_FIXED_BINARY) return malformed(env, "kind");
  if (offset < 0 || width < 0 || width > INT32_MAX) return malformed(env, "offset");
  c->kind = (int)kind;
  c->offset = offset;
  c->width = (int32_t)width;
  c->validity = validity;
  c->values = values;
  c->values_bytes = values_bytes;
  c->offsets = offsets;
  c->param = 0;
  if (validity && validity_bytes < (size_t)((offset + rows + 7) / 8)) return malformed(env, "validity bitmap");
  size_t size = fixed_size(c->kind);
  if (size && values_bytes < (size_t)rows * size) return malformed(env, "values");
  if (c->kind == ARROW_BOOL && values_bytes < (size_t)((offset + rows + 7) / 8)) return malformed(env, "values");
  if (c->kind == ARROW_FIXED_BINARY && values_bytes < (size_t)rows * (size_t)width) return malformed(env, "values");
  if (variable_width(c->kind) && rows > 0) {
    if (offsets_bytes < (size_t)(rows + 1) * (large(c->kind) ? 8 : 4)) return malformed(env, "offsets");
    for (int64_t row = 0; row < rows; row++) {
      int64_t start = offset_at(c, row), end = offset_at(c, row + 1);
      if (start < 0 || end < start || (size_t)end > values_bytes) return malformed(env, "offsets");
    }
  }
  return 1;
}

int sqlaio_arrow_columns(napi_env env, napi_value list, int64_t rows, ArrowColumn **out, uint32_t *count) {
  *out = NULL;
  NAPI_OR_RETURN(env, napi_get_array_length(env, list, count), 0);
  ArrowColumn *columns = calloc(*count ? *count : 1, sizeof *columns);
  if (columns == NULL) return sqlaio_bind_failed(env, SQLITE_NOMEM);
  for (uint32_t i = 0; i < *count; i++) {
    napi_value object;
    if (napi_get_element(env, list, i, &object) != napi_ok) {
      free(columns);
      sqlaio_throw_napi(env, "napi_get_element");
      return 0;
    }
    if (!read_column(env, object, rows, &columns[i])) {
      free(columns);
      return 0;
    }
  }
  *out = columns;
  return 1;
}

/* Whether names[i] is `wanted`: 1 or 0, -1 after throwing. */
static int column_named(napi_env env, napi_value names, uint32_t i, const char *wanted) {
  napi_value name;
  size_t length = 0;
  NAPI_OR_RETURN(env, napi_get_element(env, names, i, &name), -1);
  NAPI_OR_RETURN(env, napi_get_value_string_utf8(env, name, NULL, 0, &length), -1);
  if (length != strlen(wanted)) return 0;
  char *text = malloc(length + 1);
  if (text == NULL) return sqlaio_bind_failed(env, SQLITE_NOMEM) - 1;
  int same = napi_get_value_string_utf8(env, name, text, length + 1, &length) == napi_ok &&
             memcmp(text, wanted, length) == 0;
  free(text);
  return same;
}

int sqlaio_arrow_params(napi_env env, sqlite3_stmt *handle, ArrowColumn *columns, uint32_t count,
                        napi_value names) {
  if (names == NULL) {
    int anon = 0;
    for (uint32_t i = 0; i < count; i++) columns[i].param = sqlaio_next_anonymous(handle, &anon);
    return 1;
  }
  /* By name, as better-sqlite3 binds an object whose keys are the column names (the last of
   * several columns with one name wins, as when the JS path builds that object). */
  int expected = sqlite3_bind_parameter_count(handle);
  for (int index = 1; index <= expected; index++) {
    const char *wanted = sqlite3_bind_parameter_name(handle, index);
    if (wanted == NULL) continue;
    int found = 0;
    for (uint32_t i = count; i-- > 0 && !found;) {
      int same = column_named(env, names, i, wanted + 1);
      if (same < 0) return 0;
      if (same) {
        columns[i].param = index;
        found = 1;
      }
    }
    if (!found) {
      char message[256];
      snprintf(message, sizeof message, "Missing named parameter \"%s\"", wanted + 1);
      napi_throw_range_error(env, NULL, message);
      return 0;
    }
  }
  return 1;
}

static int bind_cell(napi_env env, sqlite3_stmt *handle, const ArrowColumn *c, int64_t row) {
  int index = c->param;
  int64_t bit = c->offset + row;
  if (c->kind == ARROW_NULL || (c->validity && !((c->validity[bit >> 3] >> (bit & 7)) & 1)))
    return sqlite3_bind_null(handle, index);
  const uint8_t *v = c->values;
  switch (c->kind) {
    case ARROW_INT8:
      return sqlite3_bind_double(handle, index, ((const int8_t *)v)[row]);
    case ARROW_INT16:
      return sqlite3_bind_double(handle, index, ((const int16_t *)v)[row]);
    case ARROW_INT32:
      return sqlite3_bind_double(handle, index, ((const int32_t *)v)[row]);
    case ARROW_UINT8:
      return sqlite3_bind_double(handle, index, v[row]);
    case ARROW_UINT16:
      return sqlite3_bind_double(handle, index, ((const uint16_t *)v)[row]);
    case ARROW_UINT32:
      return sqlite3_bind_double(handle, index, ((const uint32_t *)v)[row]);
    case ARROW_FLOAT32:
      return sqlite3_bind_double(handle, index, ((const float *)v)[row]);
    case ARROW_FLOAT64:
      return sqlite3_bind_double(handle, index, ((const double *)v)[row]);
    case ARROW_BOOL:
      return sqlite3_bind_double(handle, index, (v[bit >> 3] >> (bit & 7)) & 1);
    case ARROW_INT64:
      return sqlite3_bind_int64(handle, index, ((const int64_t *)v)[row]);
    case ARROW_UINT64: {
      uint64_t value = ((const uint64_t *)v)[row];
      return value > (uint64_t)INT64_MAX ? SQLITE_TOOBIG : sqlite3_bind_int64(handle, index, (int64_t)value);
    }
    case ARROW_FIXED_BINARY:
      /* The batch outlives the step: SQLite may read the bytes where they are (SQLITE_STATIC). */
      return sqlite3_bind_blob64(handle, index, c->width ? v + (size_t)row * c->width : (const void *)"",
                                 (sqlite3_uint64)c->width, SQLITE_STATIC);
    default: {
      int64_t start = offset_at(c, row), end = offset_at(c, row + 1);
      /* A zero-length value must still point somewhere: a NULL pointer would bind NULL. */
      const void *bytes = end > start ? (const void *)(v + start) : (const void *)"";
      if (c->kind == ARROW_UTF8 || c->kind == ARROW_LARGE_UTF8)
        return sqlite3_bind_text64(handle, index, bytes, (sqlite3_uint64)(end - start), SQLITE_STATIC, SQLITE_UTF8);
      return sqlite3_bind_blob64(handle, index, bytes, (sqlite3_uint64)(end - start), SQLITE_STATIC);
    }
  }
}

int sqlaio_arrow_bind_row(napi_env env, sqlite3_stmt *handle, const ArrowColumn *columns, uint32_t count,
                          int64_t row) {
  for (uint32_t i = 0; i < count; i++) {
    if (columns[i].param == 0) continue;
    int status = bind_cell(env, handle, &columns[i], row);
    if (status != SQLITE_OK) return sqlaio_bind_failed(env, status);
  }
  return 1;
}
