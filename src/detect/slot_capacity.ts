/**
 * Sizing of detectors' per-flow-slot arrays.
 *
 * @module
 */

/**
 * Length to grow per-slot arrays to so that `slot` fits: doubling from the
 * flow table's low slots (it hands them out from 0 up), at most `max`; a
 * table sized for millions of flows costs memory only as it fills.
 */
export function slotCapacity(slot: number, max: number): number {
  return Math.min(max, Math.max(4096, 2 * (slot + 1)));
}
