/**
 * Buffer alignment inside a batch: every buffer of a batch's SharedArrayBuffer starts at a
 * multiple of 8 bytes, so that typed-array views over it (BigInt64Array, Float64Array) are legal.
 */

/** `n` rounded up to a multiple of 8. */
export const align8 = (n: number): number => (n + 7) & ~7
