/*
 * External memory accounting for batch buffers. V8 counts a SharedArrayBuffer's bytes toward
 * no isolate's heap (a shared backing store has no single owner), so a thread that holds many
 * dead batch buffers through small, dead JS wrappers feels no pressure to collect them. The JS
 * side reports each buffer it keeps a wrapper of here (+bytes) and takes it back when the
 * wrapper is collected (-bytes), so that V8 schedules garbage collections as it does for its own
 * ArrayBuffers.
 */
#include "sqlaio.h"

/* adjustExternalMemory(bytes): napi_adjust_external_memory on the calling thread's isolate. */
napi_value sqlaio_js_adjust_external_memory(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  GET_ARGS(env, info, 1, argv);
  int64_t change = 0;
  NAPI_CALL(env, napi_get_value_int64(env, argv[0], &change));
  int64_t total = 0;
  NAPI_CALL(env, napi_adjust_external_memory(env, change, &total));
  napi_value out;
  NAPI_CALL(env, napi_create_double(env, (double)total, &out));
  return out;
}
