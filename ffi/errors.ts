/**
 * The error of the native capture layer. It lives here, at the bottom of the
 * layers, because ffi/ throws it and may not import src/; src/capture/ and
 * src/cli/ import it from here. Its message is one line, meant to be printed
 * as-is to an administrator (no stack trace).
 *
 * @module
 */

/** libpcap (or Npcap) is missing, or a live device cannot be opened. */
export class CaptureDeviceError extends Error {
  /** Exit code main.ts should use (2: environment or usage). */
  readonly exitCode: number;
  /** Creates the error; `message` is the full one-line message. */
  constructor(message: string, exitCode = 2) {
    super(message);
    this.name = "CaptureDeviceError";
    this.exitCode = exitCode;
  }
}
