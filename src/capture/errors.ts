/**
 * Named errors of the capture stage. Their messages are one line, meant to be
 * printed as-is to an administrator (no stack trace). The live-capture error,
 * `CaptureDeviceError`, is thrown by the native layer and lives in
 * `ffi/errors.ts`.
 *
 * @module
 */

/** A capture file cannot be opened or is damaged at a known byte offset. */
export class CaptureFileError extends Error {
  /** File the error is about. */
  readonly path: string;
  /** Byte offset of the damage, or -1 when the file could not be opened. */
  readonly offset: number;
  /** Creates the error; `message` is the full one-line message. */
  constructor(message: string, path: string, offset = -1) {
    super(message);
    this.name = "CaptureFileError";
    this.path = path;
    this.offset = offset;
  }
}
