/**
 * Decisions of the connection analyzers.
 *
 * @module
 */

/** Decision of an analyzer. */
export const Verdict = {
  /** Still looking. */
  UNDECIDED: 0,
  /** Not SoftEther (or not any more worth looking at). */
  NOT_SOFTETHER: 1,
  /** A VPN session (main connection). */
  VPN: 2,
  /** An extra TCP connection of a VPN session. */
  ADDITIONAL: 3,
  /** A failed login (wrong password, unknown hub). */
  ATTEMPT: 4,
  /** Remote administration (vpncmd, server manager). */
  ADMIN: 5,
} as const;
