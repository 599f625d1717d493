/**
 * A usage error: bad option, bad device number. main.ts prints the message
 * on one line and exits with code 2.
 *
 * @module
 */

/** Wrong command-line usage or interactive input. */
export class UsageError extends Error {
  /** Exit code for usage errors. */
  readonly exitCode = 2;
  /** Creates the error with a one-line message. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
