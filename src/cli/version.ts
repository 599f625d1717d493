/**
 * Name and version (kept in step with deno.json; `deno task compile` embeds it).
 *
 * @module
 */

/** Program name. */
export const NAME = "sealert";
/** Program version. */
export const VERSION = "0.1.0";
/** The start-up banner, as SoftEther Alert 1.00 printed one. */
export const BANNER =
  `SoftEther Alert (sealert) ${VERSION} - passive SoftEther VPN session detector`;
