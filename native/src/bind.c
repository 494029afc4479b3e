/*
 * Parameter binding, following better-sqlite3's rules exactly so that both paths bind the same
 * values and fail with the same errors:
 * - numbers bind as REAL (sqlite3_bind_double), even integral ones;
 * - bigints bind as INTEGER when they fit in int64, else RangeError;
 * - strings bind as UTF-8 text, Uint8Array (any ArrayBufferView) as a blob, null/undefined as NULL;
 * - an array binds positional parameters in order, skipping named ones; a non-empty object binds
 *   every named parameter by its name without the prefix character; an empty array or object
 *   binds nothing (the JS driver then calls better-sqlite3 without arguments);
 * - then the number bound must equal the statement's parameter count.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlaio.h"

#define TOO_BIG "The bound string, buffer, or bigint is too big"
#define TOO_MANY "Too many parameter values were provided"
#define NOT_A_VALUE "SQLite3 can only bind numbers, strings, bigints, buffers, and null"

/* Throws the error better-sqlite3 throws for a failed sqlite3_bind_* status. */
int sqlaio_bind_failed(napi_env env, int status) {
  switch (status) {
    case SQLITE_TOOBIG:
      napi_throw_range_error(env, NULL, TOO_BIG);
      break;
    case SQLITE_RANGE:
      napi_throw_range_error(env, NULL, TOO_MANY);
      break;
    case SQLITE_NOMEM:
      napi_throw_error(env, NULL, "Out of memory");
      break;
    default:
      napi_throw_error(env, NULL, "An unexpected error occured while trying to bind parameters");
  }
  return 0;
}

int sqlaio_byte_view(napi_env env, napi_value value, void **data, size_t *bytes) {
  bool is_typed = false, is_view = false;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok) return -1;
  if (is_typed) {
    napi_typedarray_type type;
    size_t length;
    if (napi_get_typedarray_info(env, value, &type, &length, data, NULL, NULL) != napi_ok) return -1;
    size_t size = 1;
    switch (type) {
      case napi_int16_array:
      case napi_uint16_array:
        size = 2;
        break;
      case napi_int32_array:
      case napi_uint32_array:
      case napi_float32_array:
        size = 4;
        break;
      case napi_float64_array:
      case napi_bigint64_array:
      case napi_biguint64_array:
        size = 8;
        break;
      default:
        size = 1;
    }
    *bytes = length * size;
    return 1;
  }
  if (napi_is_dataview(env, value, &is_view) != napi_ok) return -1;
  if (!is_view) return 0;
  if (napi_get_dataview_info(env, value, bytes, data, NULL, NULL) != napi_ok) return -1;
  return 1;
}

/* Binds one value at `index`. Returns 1, or 0 with an exception pending. */

/*
 * UTF-16 code units as WTF-8: UTF-8, except that an unpaired surrogate is written as the
 * three-byte form of its code unit, as V8 writes strings for better-sqlite3's bindings. `unit(i)`
 * reads unit i. `out` has room for 3 bytes per unit; returns the bytes written.
 */
static size_t wtf8_of_units(const void *units, size_t n, uint32_t (*unit)(const void *, size_t), char *out) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t c = unit(units, i);
    if (c >= 0xD800 && c <= 0xDBFF && i + 1 < n) {
      uint32_t low = unit(units, i + 1);
      if (low >= 0xDC00 && low <= 0xDFFF) {
        c = 0x10000 + ((c - 0xD800) << 10) + (low - 0xDC00);
        i++;
      }
    }
    if (c < 0x80) {
      out[o++] = (char)c;
    } else if (c < 0x800) {
      out[o++] = (char)(0xC0 | (c >> 6));
      out[o++] = (char)(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      out[o++] = (char)(0xE0 | (c >> 12));
      out[o++] = (char)(0x80 | ((c >> 6) & 0x3F));
      out[o++] = (char)(0x80 | (c & 0x3F));
    } else {
      out[o++] = (char)(0xF0 | (c >> 18));
      out[o++] = (char)(0x80 | ((c >> 12) & 0x3F));
      out[o++] = (char)(0x80 | ((c >> 6) & 0x3F));
      out[o++] = (char)(0x80 | (c & 0x3F));
    }
  }
  return o;
}

static uint32_t native_unit(const void *units, size_t i) {
  return ((const char16_t *)units)[i];
}

static uint32_t little_endian_unit(const void *units, size_t i) {
  const uint8_t *bytes = units;
  return (uint32_t)bytes[2 * i] | ((uint32_t)bytes[2 * i + 1] << 8);
}

/* Whether UTF-8 `text` holds U+FFFD (EF BF BD). */
static int has_replacement_character(const char *text, size_t length) {
  const unsigned char *at = (const unsigned char *)text;
  const unsigned char *end = at + length;
  while ((at = memchr(at, 0xEF, (size_t)(end - at))) != NULL) {
    if (end - at >= 3 && at[1] == 0xBF && at[2] == 0xBD) return 1;
    at++;
  }
  return 0;
}

/* A JS string as malloc'd WTF-8 in *text (*length bytes); 0 with an exception pending on failure. */
static int wtf8_of_string(napi_env env, napi_value value, char **text, size_t *length) {
  size_t units;
  NAPI_OR_RETURN(env, napi_get_value_string_utf16(env, value, NULL, 0, &units), 0);
  char16_t *utf16 = malloc((units + 1) * sizeof *utf16);
  *text = malloc(3 * units + 1);
  if (utf16 == NULL || *text == NULL) {
    free(utf16);
    free(*text);
    *text = NULL;
    return sqlaio_bind_failed(env, SQLITE_NOMEM);
  }
  if (napi_get_value_string_utf16(env, value, utf16, units + 1, &units) != napi_ok) {
    free(utf16);
    free(*text);
    *text = NULL;
    sqlaio_throw_napi(env, "napi_get_value_string_utf16");
    return 0;
  }
  *length = wtf8_of_units(utf16, units, native_unit, *text);
  free(utf16);
  return 1;
}

static int bind_value(napi_env env, sqlite3_stmt *handle, int index, napi_value value) {
  napi_valuetype type;
  NAPI_OR_RETURN(env, napi_typeof(env, value, &type), 0);
  int status;
  switch (type) {
    case napi_number: {
      double number;
      NAPI_OR_RETURN(env, napi_get_value_double(env, value, &number), 0);
      status = sqlite3_bind_double(handle, index, number);
      break;
    }
    case napi_bigint: {
      int64_t integer;
      bool lossless;
      NAPI_OR_RETURN(env, napi_get_value_bigint_int64(env, value, &integer, &lossless), 0);
      if (!lossless) return sqlaio_bind_failed(env, SQLITE_TOOBIG);
      status = sqlite3_bind_int64(handle, index, integer);
      break;
    }
    case napi_string: {
      size_t length;
      NAPI_OR_RETURN(env, napi_get_value_string_utf8(env, value, NULL, 0, &length), 0);
      char *text = malloc(length + 1);
      if (text == NULL) return sqlaio_bind_failed(env, SQLITE_NOMEM);
      if (napi_get_value_string_utf8(env, value, text, length + 1, &length) != napi_ok) {
        free(text);
        sqlaio_throw_napi(env, "napi_get_value_string_utf8");
        return 0;
      }
      /* N-API writes an unpaired surrogate as U+FFFD; better-sqlite3 binds it as WTF-8. Only a
         string with a U+FFFD in it may have had one: that string is read again as UTF-16. */
      if (has_replacement_character(text, length)) {
        free(text);
        text = NULL;
        if (!wtf8_of_string(env, value, &text, &length)) return 0;
      }
      /* SQLITE_TRANSIENT: SQLite copies the text, so the buffer is ours to free right away. */
      status = sqlite3_bind_text64(handle, index, text, length, SQLITE_TRANSIENT, SQLITE_UTF8);
      free(text);
      break;
    }
    case napi_null:
    case napi_undefined:
      status = sqlite3_bind_null(handle, index);
      break;
    case napi_object: {
      void *data = NULL;
      size_t bytes = 0;
      int found = sqlaio_byte_view(env, value, &data, &bytes);
      if (found < 0) {
        sqlaio_throw_napi(env, "reading a Uint8Array parameter");
        return 0;
      }
      if (!found) {
        napi_throw_type_error(env, NULL, NOT_A_VALUE);
        return 0;
      }
      status = sqlite3_bind_blob64(handle, index, data ? data : "", bytes, SQLITE_TRANSIENT);
      break;
    }
    default:
      napi_throw_type_error(env, NULL, NOT_A_VALUE);
      return 0;
  }
  return status == SQLITE_OK ? 1 : sqlaio_bind_failed(env, status);
}

/* The next positional (unnamed) parameter index after *anon, as better-sqlite3 counts them. */
int sqlaio_next_anonymous(sqlite3_stmt *handle, int *anon) {
  while (sqlite3_bind_parameter_name(handle, ++*anon) != NULL) {
  }
  return *anon;
}

/* Counts and errors as better-sqlite3 reports them, once `bound` parameters were bound. */
int sqlaio_check_bound(napi_env env, sqlite3_stmt *handle, int bound, int bound_object) {
  int expected = sqlite3_bind_parameter_count(handle);
  if (bound == expected) return 1;
  if (bound > expected) {
    napi_throw_range_error(env, NULL, TOO_MANY);
    return 0;
  }
  int named = 0;
  for (int i = 1; i <= expected && !named; i++) named = sqlite3_bind_parameter_name(handle, i) != NULL;
  if (!bound_object && named) napi_throw_type_error(env, NULL, "Missing named parameters");
  else napi_throw_range_error(env, NULL, "Too few parameter values were provided");
  return 0;
}

int sqlaio_bind(napi_env env, sqlite3_stmt *handle, napi_value params) {
  int expected = sqlite3_bind_parameter_count(handle);
  int bound = 0;
  int bound_object = 0;
  bool is_array = false;
  NAPI_OR_RETURN(env, napi_is_array(env, params, &is_array), 0);
  if (is_array) {
    uint32_t length;
    NAPI_OR_RETURN(env, napi_get_array_length(env, params, &length), 0);
    int anon = 0;
    for (uint32_t i = 0; i < length; i++) {
      napi_value value;
      NAPI_OR_RETURN(env, napi_get_element(env, params, i, &value), 0);
      if (!bind_value(env, handle, sqlaio_next_anonymous(handle, &anon), value)) return 0;
      bound++;
    }
  } else {
    napi_valuetype type;
    NAPI_OR_RETURN(env, napi_typeof(env, params, &type), 0);
    if (type != napi_object) {
      napi_throw_type_error(env, NULL, "sqlaio native: params must be an array or an object");
      return 0;
    }
    /* Any object, even an empty one, is the named parameters (as in better-sqlite3). */
    bound_object = 1;
    for (int i = 1; i <= expected; i++) {
      const char *name = sqlite3_bind_parameter_name(handle, i);
      if (name == NULL) continue;
      napi_value key, value;
      bool has = false;
      NAPI_OR_RETURN(env, napi_create_string_utf8(env, name + 1, NAPI_AUTO_LENGTH, &key), 0);
      NAPI_OR_RETURN(env, napi_has_own_property(env, params, key, &has), 0);
      if (!has) {
        char message[256];
        snprintf(message, sizeof message, "Missing named parameter \"%s\"", name + 1);
        napi_throw_range_error(env, NULL, message);
        return 0;
      }
      NAPI_OR_RETURN(env, napi_get_property(env, params, key, &value), 0);
      if (!bind_value(env, handle, i, value)) return 0;
      bound++;
    }
  }
  return sqlaio_check_bound(env, handle, bound, bound_object);
}

/* ---- Packed parameter sets ------------------------------------------------------------------ */
/*
 * executeMany's parameter sets as src/thread/packed-params.ts packs them (the encoding of
 * src/thread/codec.ts, little-endian, unaligned): per set a u32 header (count << 1, | 1 when
 * named), then `count` values, each after its name (u32 length + UTF-8) when named. A value is a
 * tag byte and its payload: 0 null; 1 number (f64); 2 bigint (i64); 3 string and 4 bytes (u32
 * length + bytes). Numbers and bigints bind as better-sqlite3 binds them (REAL, INTEGER).
 */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "packed parameters are little-endian; this host is not"
#endif

/* Value tags of src/thread/codec.ts (PACKED_UTF16: a string with an unpaired surrogate, as UTF-16LE). */
enum { PACKED_NULL = 0, PACKED_NUMBER = 1, PACKED_BIGINT = 2, PACKED_STRING = 3, PACKED_BYTES = 4, PACKED_UTF16 = 5 };

static int packed_malformed(napi_env env) {
  napi_throw_error(env, NULL, "sqlaio native: packed parameters are malformed");
  return 0;
}

static int take(PackedReader *r, size_t n, const uint8_t **out) {
  if ((size_t)(r->end - r->at) < n) return 0;
  *out = r->at;
  r->at += n;
  return 1;
}

static int take_u32(PackedReader *r, uint32_t *value) {
  const uint8_t *p;
  if (!take(r, 4, &p)) return 0;
  memcpy(value, p, 4);
  return 1;
}

/* Reads one value's tag and payload; returns 0 when the bytes run out or the tag is unknown. */
static int take_value(PackedReader *r, uint8_t *tag, const uint8_t **payload, uint32_t *length) {
  const uint8_t *p;
  if (!take(r, 1, &p)) return 0;
  *tag = *p;
  switch (*tag) {
    case PACKED_NULL:
      *length = 0;
      return 1;
    case PACKED_NUMBER:
    case PACKED_BIGINT:
      *length = 8;
      return take(r, 8, payload);
    case PACKED_STRING:
    case PACKED_BYTES:
    case PACKED_UTF16:
      return take_u32(r, length) && take(r, *length, payload);
    default:
      return 0;
  }
}

static int bind_packed_value(napi_env env, sqlite3_stmt *handle, int index, uint8_t tag,
                             const uint8_t *payload, uint32_t length) {
  int status;
  switch (tag) {
    case PACKED_NUMBER: {
      double number;
      memcpy(&number, payload, 8);
      status = sqlite3_bind_double(handle, index, number);
      break;
    }
    case PACKED_BIGINT: {
      int64_t integer;
      memcpy(&integer, payload, 8);
      status = sqlite3_bind_int64(handle, index, integer);
      break;
    }
    case PACKED_STRING:
      status = sqlite3_bind_text64(handle, index, (const char *)payload, length, SQLITE_TRANSIENT, SQLITE_UTF8);
      break;
    case PACKED_BYTES:
      status = sqlite3_bind_blob64(handle, index, length ? payload : (const void *)"", length, SQLITE_TRANSIENT);
      break;
    case PACKED_UTF16: {
      char *text = malloc(3 * (length / 2) + 1);
      if (text == NULL) return sqlaio_bind_failed(env, SQLITE_NOMEM);
      size_t bytes = wtf8_of_units(payload, length / 2, little_endian_unit, text);
      status = sqlite3_bind_text64(handle, index, text, bytes, SQLITE_TRANSIENT, SQLITE_UTF8);
      free(text);
      break;
    }
    default:
      status = sqlite3_bind_null(handle, index);
  }
  return status == SQLITE_OK ? 1 : sqlaio_bind_failed(env, status);
}

int sqlaio_bind_packed(napi_env env, sqlite3_stmt *handle, PackedReader *r) {
  uint32_t header;
  if (!take_u32(r, &header)) return packed_malformed(env);
  uint32_t count = header >> 1;
  uint8_t tag;
  const uint8_t *payload = NULL;
  uint32_t length = 0;
  if ((header & 1) == 0) {
    int anon = 0;
    for (uint32_t i = 0; i < count; i++) {
      if (!take_value(r, &tag, &payload, &length)) return packed_malformed(env);
      if (!bind_packed_value(env, handle, sqlaio_next_anonymous(handle, &anon), tag, payload, length)) return 0;
    }
    return sqlaio_check_bound(env, handle, (int)count, 0);
  }
  /* Named: each of the statement's named parameters takes the value of the same name. */
  const uint8_t *entries = r->at;
  for (uint32_t i = 0; i < count; i++) {
    const uint8_t *name;
    uint32_t name_length;
    if (!take_u32(r, &name_length) || !take(r, name_length, &name) || !take_value(r, &tag, &payload, &length))
      return packed_malformed(env);
  }
  const uint8_t *set_end = r->at;
  int expected = sqlite3_bind_parameter_count(handle);
  int bound = 0;
  for (int index = 1; index <= expected; index++) {
    const char *wanted = sqlite3_bind_parameter_name(handle, index);
    if (wanted == NULL) continue;
    size_t wanted_length = strlen(wanted + 1);
    PackedReader scan = {entries, set_end};
    int found = 0;
    for (uint32_t i = 0; i < count && !found; i++) {
      /* Already checked above: these reads cannot run out. */
      const uint8_t *name = NULL;
      uint32_t name_length = 0;
      take_u32(&scan, &name_length);
      take(&scan, name_length, &name);
      take_value(&scan, &tag, &payload, &length);
      found = name_length == wanted_length && memcmp(name, wanted + 1, wanted_length) == 0;
    }
    if (!found) {
      char message[256];
      snprintf(message, sizeof message, "Missing named parameter \"%s\"", wanted + 1);
      napi_throw_range_error(env, NULL, message);
      return 0;
    }
    if (!bind_packed_value(env, handle, index, tag, payload, length)) return 0;
    bound++;
  }
  return sqlaio_check_bound(env, handle, bound, 1);
}
