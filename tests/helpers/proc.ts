/**
 * A child process whose output is collected as it comes, for tests that run
 * sealert (or a lab tool) in the background and signal it by PID.
 *
 * @module
 */

/** A child process whose output is collected as it comes. */
export class Proc {
  readonly child: Deno.ChildProcess;
  stdout = "";
  stderr = "";
  code: number | undefined;
  readonly done: Promise<number>;

  constructor(cmd: string, args: string[]) {
    const child = new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" })
      .spawn();
    this.child = child;
    const collect = async (stream: ReadableStream<Uint8Array>, into: "stdout" | "stderr") => {
      for await (const text of stream.pipeThrough(new TextDecoderStream())) this[into] += text;
    };
    const out = collect(child.stdout, "stdout");
    const err = collect(child.stderr, "stderr");
    this.done = (async () => {
      const status = await child.status;
      await Promise.all([out, err]);
      this.code = status.signal !== null ? 128 + signalNumber(status.signal) : status.code;
      return this.code;
    })();
  }

  /** Sends `signal` by PID; false once the process has exited. */
  signal(signal: Deno.Signal): boolean {
    if (this.code !== undefined) return false;
    try {
      this.child.kill(signal);
      return true;
    } catch {
      return false;
    }
  }

  /** The exit code, or an error (with its stderr) after `ms`. */
  async exit(ms = 20_000): Promise<number> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no exit within ${ms} ms: ${this.stderr}`)), ms);
    });
    try {
      return await Promise.race([this.done, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kills it (by PID) if still running and waits for it. */
  async kill(): Promise<void> {
    this.signal("SIGKILL");
    await this.done.catch(() => {});
  }

  /** SIGINT (if still running), then its exit code within 30 s. */
  stop(): Promise<number> {
    this.signal("SIGINT");
    return this.exit(30_000);
  }
}

function signalNumber(signal: Deno.Signal): number {
  return { SIGTERM: 15, SIGKILL: 9, SIGINT: 2, SIGHUP: 1 }[signal as string] ?? 0;
}
