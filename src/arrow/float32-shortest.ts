/**
 * The number PostgreSQL prints for a float4 (and `pg` then parses): the shortest decimal that
 * reads back as the same float32, as its Ryu-based output finds it. Among the decimals of the
 * fewest digits strictly inside the float's rounding interval, the one nearest the float's exact
 * value, an exact tie going to the even last digit. A decimal exactly on the interval's edge
 * (where reading it back rounds to this float only by ties-to-even) does not count: the server
 * prints 53669888, not 53669890. Computed exactly, in BigInt: `toPrecision` rounds ties up and
 * takes edges, which differed from the server for about one random float4 in 170.
 */

const scratch = new Float32Array(1)
const bits = new Uint32Array(scratch.buffer)

/** 10^n as a BigInt, for small n ≥ 0. */
const pow10 = (n: number): bigint => 10n ** BigInt(n)

/** `value` (a float32, finite and not zero) as the shortest decimal the server prints. */
export function float32Shortest(value: number): number {
  scratch[0] = value
  const word = bits[0]!
  const biased = (word >>> 23) & 0xff
  const fraction = word & 0x7fffff
  // value = m × 2^e exactly; its neighbours' midpoints bound the decimals that read back as it.
  const m = BigInt(biased === 0 ? fraction : fraction | 0x800000)
  const e = biased === 0 ? -149 : biased - 150
  // Scaled by 2^(2 - e): value, and the interval (lo, hi), as integers over one denominator.
  const lowerCloser = fraction === 0 && biased > 1
  const v = m * 4n
  const hi = v + 2n
  const lo = lowerCloser ? v - 1n : v - 2n
  const shift = 2 - e
  const abs = Math.abs(value)
  let exponent10 = Math.floor(Math.log10(abs))
  if (10 ** exponent10 > abs) exponent10--
  else if (10 ** (exponent10 + 1) <= abs) exponent10++
  for (let digits = 1; digits <= 9; digits++) {
    // Candidates c × 10^p with `digits` digits; compare c × 10^p × 2^shift against lo, v, hi.
    const p = exponent10 - digits + 1
    const [num, den] = scaled(p, shift)
    // c strictly between lo and hi: c × num > lo × den and c × num < hi × den.
    const cMin = (lo * den) / num + 1n
    const cMax = (hi * den + num - 1n) / num - 1n
    if (cMin > cMax) continue
    // The nearest to v: v × den / num rounded half to even, kept inside [cMin, cMax].
    const q = (v * den) / num
    const r = v * den - q * num
    let c = 2n * r > num || (2n * r === num && q % 2n === 1n) ? q + 1n : q
    if (c < cMin) c = cMin
    if (c > cMax) c = cMax
    const shortest = Number(`${c}e${p}`)
    return value < 0 ? -shortest : shortest
  }
  return value
}

/**
 * 10^p × 2^shift as a fraction num/den of BigInts (num, den > 0), so that comparing c × 10^p
 * with x × 2^-shift becomes comparing c × num with x × den.
 */
function scaled(p: number, shift: number): [bigint, bigint] {
  let num = 1n
  let den = 1n
  if (p >= 0) num *= pow10(p)
  else den *= pow10(-p)
  if (shift >= 0) num <<= BigInt(shift)
  else den <<= BigInt(-shift)
  return [num, den]
}
