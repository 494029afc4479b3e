/*
 * Stepping a statement into the Arrow batch layout of src/thread/protocol.ts, with the same kind
 * choices as the JavaScript writers (src/worker/batch-writer.ts): per batch, a column whose
 * non-NULL values are all of one storage class is that kind; several classes make a dense union
 * (Mixed) of the five kinds, NULLs going to its Null child; an all-NULL column takes the kind of
 * its declared type when it has one, else Null. Integers are int64, REAL float64, TEXT the UTF-8
 * bytes exactly as SQLite returns them (embedded NUL included), BLOB the bytes.
 *
 * Two phases, like the JS writers: `sqlaio_batch_step` steps rows into worker-local scratch and
 * computes each buffer's place (every buffer 8-byte aligned, in the same order as the JS
 * writers place them); JS then takes a zeroed SharedArrayBuffer of at least `total_bytes` (fresh,
 * or one the main thread gave back: src/worker/buffer-pool.ts) and `sqlaio_batch_fill` copies the
 * batch into it. Once posted, the buffer is not written again until the main thread returns it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlaio.h"

/* Arrow offsets are Int32: a column's text or blob bytes in one batch must stay below 2 GiB. */
#define MAX_COLUMN_BYTES ((int64_t)0x7fffffff)
/* Scratch above this size is freed after each batch instead of being kept for the next one. */
#define TRIM_BYTES ((size_t)64 << 20)

static int64_t align8(int64_t n) { return (n + 7) & ~(int64_t)7; }

void sqlaio_batch_free(Batch *batch) {
  free(batch->kinds);
  free(batch->fixed);
  free(batch->ends);
  for (int c = 0; c < batch->col_cap; c++) free(batch->bytes[c].data);
  free(batch->bytes);
  free(batch->places);
  memset(batch, 0, sizeof *batch);
}

void sqlaio_batch_trim(Batch *batch) {
  for (int c = 0; c < batch->col_cap; c++) {
    ByteBuf *buf = &batch->bytes[c];
    if (buf->cap > TRIM_BYTES) {
      free(buf->data);
      memset(buf, 0, sizeof *buf);
    }
  }
  if (batch->cell_cap * (1 + 2 * sizeof(int64_t)) > TRIM_BYTES) {
    free(batch->kinds);
    free(batch->fixed);
    free(batch->ends);
    batch->kinds = NULL;
    batch->fixed = NULL;
    batch->ends = NULL;
    batch->cell_cap = 0;
  }
}

static int reserve_columns(Batch *batch, int columns) {
  if (columns <= batch->col_cap) return 1;
  ByteBuf *bytes = realloc(batch->bytes, (size_t)columns * sizeof *bytes);
  if (bytes == NULL) return 0;
  memset(bytes + batch->col_cap, 0, (size_t)(columns - batch->col_cap) * sizeof *bytes);
  batch->bytes = bytes;
  batch->col_cap = columns;
  ColumnPlace *places = realloc(batch->places, (size_t)columns * sizeof *places);
  if (places == NULL) return 0;
  batch->places = places;
  return 1;
}

/* Makes room for one more row of cells. */
static int reserve_row(Batch *batch) {
  size_t need = (size_t)(batch->rows + 1) * (size_t)batch->columns;
  if (need <= batch->cell_cap) return 1;
  size_t cap = batch->cell_cap ? batch->cell_cap * 2 : 4096;
  while (cap < need) cap *= 2;
  uint8_t *kinds = realloc(batch->kinds, cap);
  if (kinds == NULL) return 0;
  batch->kinds = kinds;
  int64_t *fixed = realloc(batch->fixed, cap * sizeof *fixed);
  if (fixed == NULL) return 0;
  batch->fixed = fixed;
  int64_t *ends = realloc(batch->ends, cap * sizeof *ends);
  if (ends == NULL) return 0;
  batch->ends = ends;
  batch->cell_cap = cap;
  return 1;
}

static int append(ByteBuf *buf, const void *data, size_t n) {
  if (n == 0) return 1;
  if (buf->len + n > buf->cap) {
    size_t cap = buf->cap ? buf->cap * 2 : 4096;
    while (cap < buf->len + n) cap *= 2;
    uint8_t *grown = realloc(buf->data, cap);
    if (grown == NULL) return 0;
    buf->data = grown;
    buf->cap = cap;
  }
  memcpy(buf->data + buf->len, data, n);
  buf->len += n;
  return 1;
}

/* Copies the current row's cells into the scratch. */
static int record_row(Batch *batch, sqlite3_stmt *handle) {
  if (!reserve_row(batch)) return 0;
  int columns = batch->columns;
  /* After a schema change a statement may be re-prepared with fewer columns than planned. */
  int available = sqlite3_data_count(handle);
  size_t base = (size_t)batch->rows * (size_t)columns;
  for (int c = 0; c < columns; c++) {
    uint8_t kind = KIND_NULL;
    int64_t fixed = 0;
    ByteBuf *buf = &batch->bytes[c];
    switch (c < available ? sqlite3_column_type(handle, c) : SQLITE_NULL) {
      case SQLITE_INTEGER:
        kind = KIND_INT;
        fixed = sqlite3_column_int64(handle, c);
        break;
      case SQLITE_FLOAT: {
        kind = KIND_FLOAT;
        double real = sqlite3_column_double(handle, c);
        memcpy(&fixed, &real, sizeof fixed);
        break;
      }
      case SQLITE_TEXT: {
        kind = KIND_TEXT;
        /* _text before _bytes: the length is that of the UTF-8 form _text just produced. */
        const unsigned char *text = sqlite3_column_text(handle, c);
        int n = sqlite3_column_bytes(handle, c);
        if (text == NULL && n > 0) return 0; /* out of memory converting the value */
        if (!append(buf, text, (size_t)n)) return 0;
        break;
      }
      case SQLITE_BLOB: {
        kind = KIND_BLOB;
        const void *blob = sqlite3_column_blob(handle, c);
        int n = sqlite3_column_bytes(handle, c);
        if (blob == NULL && n > 0) return 0;
        if (!append(buf, blob, (size_t)n)) return 0;
        break;
      }
      default:
        break;
    }
    batch->kinds[base + (size_t)c] = kind;
    batch->fixed[base + (size_t)c] = fixed;
    batch->ends[base + (size_t)c] = (int64_t)buf->len;
  }
  batch->rows++;
  return 1;
}

/* Reserves `bytes` at the cursor and returns their position; the cursor stays 8-aligned. */
static int64_t put(int64_t *at, int64_t bytes) {
  int64_t position = *at;
  *at = align8(position + bytes);
  return position;
}

/* Places a column (or union child) whose values are all of `kind` or NULL. */
static void place_pure(Place *p, int kind, int64_t n, int64_t nulls, int64_t var_bytes, int64_t *at) {
  p->kind = kind;
  p->length = n;
  p->null_count = kind == KIND_NULL ? n : nulls;
  p->validity = p->offsets = p->values = p->type_ids = -1;
  p->values_bytes = 0;
  if (kind == KIND_NULL) return;
  if (nulls > 0) p->validity = put(at, (n + 7) >> 3);
  if (kind == KIND_INT || kind == KIND_FLOAT) {
    p->values_bytes = n * 8;
    p->values = put(at, n * 8);
  } else {
    p->offsets = put(at, (n + 1) * 4);
    p->values_bytes = var_bytes;
    p->values = put(at, var_bytes);
  }
}

/* Plans every column of the stepped rows. Returns 0 (with a RangeError thrown) on overflow. */
static int plan(napi_env env, Batch *batch, const uint8_t *declared) {
  int columns = batch->columns;
  int64_t n = batch->rows;
  int64_t at = 0;
  for (int c = 0; c < columns; c++) {
    int64_t counts[5] = {0, 0, 0, 0, 0};
    int64_t text_bytes = 0, blob_bytes = 0, previous_end = 0;
    for (int64_t r = 0; r < n; r++) {
      size_t cell = (size_t)r * (size_t)columns + (size_t)c;
      uint8_t kind = batch->kinds[cell];
      counts[kind]++;
      if (kind == KIND_TEXT) text_bytes += batch->ends[cell] - previous_end;
      else if (kind == KIND_BLOB) blob_bytes += batch->ends[cell] - previous_end;
      previous_end = batch->ends[cell];
    }
    if (text_bytes > MAX_COLUMN_BYTES || blob_bytes > MAX_COLUMN_BYTES) {
      napi_throw_range_error(env, NULL, "a single batch column exceeds 2 GiB of text or blob data");
      return 0;
    }
    int classes = 0, only = KIND_NULL;
    for (int k = KIND_INT; k <= KIND_BLOB; k++) {
      if (counts[k] > 0) {
        classes++;
        only = k;
      }
    }
    ColumnPlace *cp = &batch->places[c];
    if (classes > 1) {
      Place *p = &cp->column;
      p->kind = KIND_MIXED;
      p->length = n;
      p->null_count = counts[KIND_NULL];
      p->validity = -1;
      p->values = -1;
      p->values_bytes = 0;
      p->type_ids = put(&at, n);
      p->offsets = put(&at, n * 4);
      place_pure(&cp->child[KIND_NULL], KIND_NULL, counts[KIND_NULL], 0, 0, &at);
      place_pure(&cp->child[KIND_INT], KIND_INT, counts[KIND_INT], 0, 0, &at);
      place_pure(&cp->child[KIND_FLOAT], KIND_FLOAT, counts[KIND_FLOAT], 0, 0, &at);
      place_pure(&cp->child[KIND_TEXT], KIND_TEXT, counts[KIND_TEXT], 0, text_bytes, &at);
      place_pure(&cp->child[KIND_BLOB], KIND_BLOB, counts[KIND_BLOB], 0, blob_bytes, &at);
    } else {
      int kind = classes == 1 ? only : declared[c];
      place_pure(&cp->column, kind, n, counts[KIND_NULL], kind == KIND_TEXT ? text_bytes : blob_bytes, &at);
    }
  }
  batch->total_bytes = at;
  return 1;
}

/* Resets the statement after its cursor ended (exhausted, failed); it may be opened again. */
static void end_cursor(Stmt *stmt) {
  sqlite3_reset(stmt->handle);
  stmt->busy = 0;
}

int sqlaio_batch_step(napi_env env, Stmt *stmt, int64_t max_rows) {
  Batch *batch = &stmt->conn->batch;
  sqlite3_stmt *handle = stmt->handle;
  batch->owner = NULL;
  if (!reserve_columns(batch, stmt->columns)) {
    end_cursor(stmt);
    napi_throw_error(env, NULL, "Out of memory");
    return SQLITE_NOMEM;
  }
  batch->columns = stmt->columns;
  batch->rows = 0;
  for (int c = 0; c < batch->columns; c++) batch->bytes[c].len = 0;
  int outcome = SQLITE_ROW;
  while (batch->rows < max_rows) {
    int rc = sqlite3_step(handle);
    if (rc == SQLITE_ROW) {
      if (record_row(batch, handle)) continue;
      end_cursor(stmt);
      napi_throw_error(env, NULL, "Out of memory");
      return SQLITE_NOMEM;
    }
    if (rc == SQLITE_DONE) {
      end_cursor(stmt);
      outcome = SQLITE_DONE;
      break;
    }
    return sqlaio_step_error(env, stmt, end_cursor);
  }
  if (!plan(env, batch, stmt->declared)) {
    if (stmt->busy) end_cursor(stmt);
    return SQLITE_TOOBIG;
  }
  batch->owner = stmt;
  return outcome;
}

napi_value sqlaio_number(napi_env env, int64_t value) {
  napi_value out;
  NAPI_CALL(env, napi_create_int64(env, value, &out));
  return out;
}

static napi_value describe_place(napi_env env, const Place *p, const Place *children) {
  napi_value layout, list = NULL;
  NAPI_CALL(env, napi_create_object(env, &layout));
  if (children != NULL) {
    NAPI_CALL(env, napi_create_array_with_length(env, 5, &list));
    for (uint32_t k = 0; k < 5; k++) {
      napi_value child = describe_place(env, &children[k], NULL);
      if (child == NULL) return NULL;
      NAPI_CALL(env, napi_set_element(env, list, k, child));
    }
  } else {
    NAPI_CALL(env, napi_get_null(env, &list));
  }
  napi_property_descriptor fields[] = {
      {"kind", NULL, NULL, NULL, NULL, sqlaio_number(env, p->kind), napi_default_jsproperty, NULL},
      {"length", NULL, NULL, NULL, NULL, sqlaio_number(env, p->length), napi_default_jsproperty, NULL},
      {"nullCount", NULL, NULL, NULL, NULL, sqlaio_number(env, p->null_count), napi_default_jsproperty, NULL},
      {"validity", NULL, NULL, NULL, NULL, sqlaio_number(env, p->validity), napi_default_jsproperty, NULL},
      {"offsets", NULL, NULL, NULL, NULL, sqlaio_number(env, p->offsets), napi_default_jsproperty, NULL},
      {"values", NULL, NULL, NULL, NULL, sqlaio_number(env, p->values), napi_default_jsproperty, NULL},
      {"valuesBytes", NULL, NULL, NULL, NULL, sqlaio_number(env, p->values_bytes), napi_default_jsproperty, NULL},
      {"typeIds", NULL, NULL, NULL, NULL, sqlaio_number(env, p->type_ids), napi_default_jsproperty, NULL},
      {"children", NULL, NULL, NULL, NULL, list, napi_default_jsproperty, NULL},
  };
  size_t count = sizeof fields / sizeof fields[0];
  for (size_t i = 0; i < count; i++) {
    if (fields[i].value == NULL) return NULL;
  }
  NAPI_CALL(env, napi_define_properties(env, layout, count, fields));
  return layout;
}

napi_value sqlaio_batch_describe(napi_env env, Batch *batch, int done) {
  napi_value out, columns, flag;
  NAPI_CALL(env, napi_create_array_with_length(env, (size_t)batch->columns, &columns));
  for (int c = 0; c < batch->columns; c++) {
    const ColumnPlace *cp = &batch->places[c];
    napi_value layout = describe_place(env, &cp->column, cp->column.kind == KIND_MIXED ? cp->child : NULL);
    if (layout == NULL) return NULL;
    NAPI_CALL(env, napi_set_element(env, columns, (uint32_t)c, layout));
  }
  NAPI_CALL(env, napi_get_boolean(env, done, &flag));
  napi_property_descriptor fields[] = {
      {"numRows", NULL, NULL, NULL, NULL, sqlaio_number(env, batch->rows), napi_default_jsproperty, NULL},
      {"byteLength", NULL, NULL, NULL, NULL, sqlaio_number(env, batch->total_bytes), napi_default_jsproperty, NULL},
      {"done", NULL, NULL, NULL, NULL, flag, napi_default_jsproperty, NULL},
      {"columns", NULL, NULL, NULL, NULL, columns, napi_default_jsproperty, NULL},
  };
  if (fields[0].value == NULL || fields[1].value == NULL) return NULL;
  NAPI_CALL(env, napi_create_object(env, &out));
  NAPI_CALL(env, napi_define_properties(env, out, 4, fields));
  return out;
}

static void set_validity(uint8_t *bits, const Batch *batch, int c) {
  for (int64_t r = 0; r < batch->rows; r++) {
    if (batch->kinds[(size_t)r * (size_t)batch->columns + (size_t)c] != KIND_NULL) {
      bits[r >> 3] |= (uint8_t)(1u << (r & 7));
    }
  }
}

static void fill_mixed(const Batch *batch, int c, const ColumnPlace *cp, uint8_t *target) {
  size_t columns = (size_t)batch->columns;
  const uint8_t *bytes = batch->bytes[c].data;
  int8_t *type_ids = (int8_t *)(target + cp->column.type_ids);
  int32_t *union_offsets = (int32_t *)(target + cp->column.offsets);
  int64_t *ints = (int64_t *)(target + cp->child[KIND_INT].values);
  int64_t *reals = (int64_t *)(target + cp->child[KIND_FLOAT].values);
  int32_t *text_offsets = (int32_t *)(target + cp->child[KIND_TEXT].offsets);
  uint8_t *text = target + cp->child[KIND_TEXT].values;
  int32_t *blob_offsets = (int32_t *)(target + cp->child[KIND_BLOB].offsets);
  uint8_t *blob = target + cp->child[KIND_BLOB].values;
  int32_t next[5] = {0, 0, 0, 0, 0};
  int64_t previous_end = 0;
  text_offsets[0] = 0;
  blob_offsets[0] = 0;
  for (int64_t r = 0; r < batch->rows; r++) {
    size_t cell = (size_t)r * columns + (size_t)c;
    uint8_t kind = batch->kinds[cell];
    int64_t end = batch->ends[cell];
    int32_t index = next[kind]++;
    type_ids[r] = (int8_t)kind;
    union_offsets[r] = index;
    switch (kind) {
      case KIND_INT:
        ints[index] = batch->fixed[cell];
        break;
      case KIND_FLOAT:
        reals[index] = batch->fixed[cell];
        break;
      case KIND_TEXT: {
        int32_t start = text_offsets[index];
        memcpy(text + start, bytes + previous_end, (size_t)(end - previous_end));
        text_offsets[index + 1] = start + (int32_t)(end - previous_end);
        break;
      }
      case KIND_BLOB: {
        int32_t start = blob_offsets[index];
        memcpy(blob + start, bytes + previous_end, (size_t)(end - previous_end));
        blob_offsets[index + 1] = start + (int32_t)(end - previous_end);
        break;
      }
      default:
        break;
    }
    previous_end = end;
  }
}

void sqlaio_batch_fill(Batch *batch, uint8_t *target) {
  size_t columns = (size_t)batch->columns;
  for (int c = 0; c < batch->columns; c++) {
    const ColumnPlace *cp = &batch->places[c];
    const Place *p = &cp->column;
    if (p->validity >= 0) set_validity(target + p->validity, batch, c);
    switch (p->kind) {
      case KIND_INT:
      case KIND_FLOAT: {
        int64_t *values = (int64_t *)(target + p->values);
        for (int64_t r = 0; r < batch->rows; r++) values[r] = batch->fixed[(size_t)r * columns + (size_t)c];
        break;
      }
      case KIND_TEXT:
      case KIND_BLOB: {
        int32_t *offsets = (int32_t *)(target + p->offsets);
        offsets[0] = 0;
        for (int64_t r = 0; r < batch->rows; r++) {
          offsets[r + 1] = (int32_t)batch->ends[(size_t)r * columns + (size_t)c];
        }
        if (p->values_bytes > 0) memcpy(target + p->values, batch->bytes[c].data, (size_t)p->values_bytes);
        break;
      }
      case KIND_MIXED:
        fill_mixed(batch, c, cp, target);
        break;
      default:
        break;
    }
  }
  batch->owner = NULL;
  sqlaio_batch_trim(batch);
}
