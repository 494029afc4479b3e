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

#ifdef __linux__
#include <sys/mman.h>
#endif

/*
 * adviseHugePages(bytes: Uint8Array, usable: number): asks the kernel to back `usable` bytes of a
 * fresh buffer, from its first 2 MB boundary, with transparent huge pages, before anything
 * touches them. Returns that boundary's offset in `bytes`, or -1 when nothing was advised (not
 * Linux, or `bytes` too short). Why: a batch buffer is written once right after it is allocated,
 * and on a virtual machine each first touch of a 4 KB page costs a fault of several microseconds
 * (measured here: 100 MB of fresh pages took 330 ms in 4 KB faults, 10 ms as huge pages).
 */
napi_value sqlaio_js_advise_huge_pages(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  GET_ARGS(env, info, 2, argv);
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  NAPI_CALL(env, napi_get_typedarray_info(env, argv[0], &type, &length, &data, NULL, NULL));
  int64_t usable = 0;
  NAPI_CALL(env, napi_get_value_int64(env, argv[1], &usable));
  double offset = -1;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  const uintptr_t huge = (uintptr_t)2 << 20;
  uintptr_t base = (uintptr_t)data;
  uintptr_t start = (base + huge - 1) & ~(huge - 1);
  if (type == napi_uint8_array && usable > 0 && start + (uintptr_t)usable <= base + length &&
      madvise((void *)start, (size_t)usable, MADV_HUGEPAGE) == 0)
    offset = (double)(start - base);
#endif
  napi_value out;
  NAPI_CALL(env, napi_create_double(env, offset, &out));
  return out;
}
