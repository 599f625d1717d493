/**
 * The three-way outcome shared by every stream parser of `src/proto`.
 *
 * Parsers follow the Suricata style: they look at a region `(buf, off, len)`
 * of a reassembled byte stream and never throw on malformed input.
 *
 * @module
 */

/**
 * Outcome of a parser on a stream region:
 * - `"ok"`: one message parsed; the result's `consumed` says how many bytes it took.
 * - `"need"`: the region is a valid prefix of a message; call again with more bytes.
 * - `"no"`: not this protocol, or malformed; the result's `reason` is a short constant.
 */
export type ParseStatus = "ok" | "need" | "no";
