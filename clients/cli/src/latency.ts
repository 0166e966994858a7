/**
 * A small log-linear latency histogram (microseconds) for `shardline bench`: constant memory
 * whatever the run's length, values exact below 256 µs and within 0.8% above (128 sub-buckets
 * per power of two, as HDR histograms do with 2-3 significant digits). The CLI keeps to it
 * rather than depending on an HDR package at run time.
 */

const SUB_BITS = 7;
const SUB_BUCKETS = 1 << SUB_BITS; // 128 sub-buckets per power of two
const LINEAR_LIMIT = 2 * SUB_BUCKETS; // below 256 µs every value has its own bucket
const MAX_EXPONENT = 40; // 2^47 µs: far beyond any run

function indexOf(value: number): number {
  if (value < LINEAR_LIMIT) return value;
  const exponent = Math.min(MAX_EXPONENT, Math.floor(Math.log2(value)) - SUB_BITS);
  const mantissa = Math.min(LINEAR_LIMIT - 1, Math.floor(value / 2 ** exponent));
  return LINEAR_LIMIT + (exponent - 1) * SUB_BUCKETS + (mantissa - SUB_BUCKETS);
}

/** The highest value that falls in bucket `index`. */
function highestOf(index: number): number {
  if (index < LINEAR_LIMIT) return index;
  const exponent = Math.floor((index - LINEAR_LIMIT) / SUB_BUCKETS) + 1;
  const mantissa = ((index - LINEAR_LIMIT) % SUB_BUCKETS) + SUB_BUCKETS;
  return (mantissa + 1) * 2 ** exponent - 1;
}

export class LatencyHistogram {
  readonly #counts = new Float64Array(LINEAR_LIMIT + MAX_EXPONENT * SUB_BUCKETS);
  #count = 0;
  #max = 0;
  #sum = 0;

  /** Records `count` values of `valueUs` microseconds (rounded, at least 1). */
  record(valueUs: number, count = 1): void {
    const value = Math.max(1, Math.round(valueUs));
    this.#counts[indexOf(value)]! += count;
    this.#count += count;
    this.#sum += value * count;
    if (value > this.#max) this.#max = value;
  }

  get count(): number {
    return this.#count;
  }

  get maxUs(): number {
    return this.#max;
  }

  get meanUs(): number {
    return this.#count === 0 ? 0 : this.#sum / this.#count;
  }

  /** The value at `percentile` (0-100): at least that share of values is at or below it. */
  percentileUs(percentile: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil((percentile / 100) * this.#count));
    let seen = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) return Math.min(highestOf(i), this.#max);
    }
    return this.#max;
  }
}
