/**
 * Exit codes, and the conversion of any error that reaches the top into one
 * line on stderr and an exit code: 1 for damaged input, 2 for usage and
 * environment errors (including an output that cannot be opened). Never a
 * stack trace for the errors sealert knows; an unexpected error still gets
 * one line (and its stack only with SEALERT_DEBUG=1).
 *
 * @module
 */

import { CaptureDeviceError } from "../../ffi/errors.ts";
import { CaptureFileError } from "../capture/errors.ts";
import { SinkError } from "../output/sink.ts";
import { UsageError } from "./usage_error.ts";

/** Exit code and one-line message of an error. */
function describeError(e: unknown): { code: number; message: string } {
  if (e instanceof UsageError) return { code: 2, message: `${e.message}. Try "sealert --help".` };
  if (e instanceof CaptureFileError) return { code: 1, message: e.message };
  if (e instanceof CaptureDeviceError) return { code: e.exitCode, message: e.message };
  if (e instanceof SinkError) return { code: 2, message: e.message };
  if (e instanceof Deno.errors.NotCapable) {
    return { code: 2, message: `Missing permission: ${(e as Error).message.split("\n")[0]}` };
  }
  const msg = e instanceof Error ? e.message.split("\n")[0] : String(e);
  return { code: 2, message: `Internal error: ${msg}` };
}

/** Print `e` as "sealert: <message>" and return its exit code. */
export function reportError(e: unknown): number {
  const { code, message } = describeError(e);
  console.error(`sealert: ${message}`);
  if (Deno.env.get("SEALERT_DEBUG") === "1" && e instanceof Error) console.error(e.stack);
  return code;
}
