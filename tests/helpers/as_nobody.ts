/**
 * Running sealert as an unprivileged user (`nobody`, uid/gid 65534) from a
 * test that runs as root. The checkout may sit under a directory only root
 * can read (a clone in /root, a `mktemp -d`), so `nobody` gets its own copy
 * of what it runs — main.ts, deno.json, src/ and ffi/ — in a fresh temporary
 * directory every user can read, with a DENO_DIR it can write.
 *
 * ```ts
 * await using app = await readableCopy();
 * const out = await asNobody(app, ["--read", path, "--log", "none"]).output();
 * ```
 *
 * @module
 */

/** uid and gid of `nobody`. */
export const NOBODY = 65534;

/** The repository this helper belongs to. */
const ROOT = new URL("../../", import.meta.url).pathname;

/** What sealert needs to run from source. */
const SOURCES = ["main.ts", "deno.json", "src", "ffi"];

/** A world-readable copy of the sources; removed on dispose. */
export interface ReadableCopy extends AsyncDisposable {
  /** The temporary directory (mode 0755) holding everything. */
  dir: string;
  /** The copy's main.ts. */
  main: string;
  /** A DENO_DIR owned by `nobody`. */
  denoDir: string;
}

/**
 * Copy the sources of the checkout at `root` (default: this one) to a new
 * temporary directory readable by every user.
 */
export async function readableCopy(root: string = ROOT): Promise<ReadableCopy> {
  const dir = await Deno.makeTempDir({ prefix: "sealert-nobody-" });
  const remove = () => Deno.remove(dir, { recursive: true }).catch(() => {});
  try {
    await Deno.chmod(dir, 0o755);
    const app = `${dir}/app`;
    await Deno.mkdir(app, { mode: 0o755 });
    await run("cp", ["-R", ...SOURCES, app], root);
    await run("chmod", ["-R", "u+rwX,go+rX,go-w", app], root);
    const denoDir = `${dir}/deno-dir`;
    await Deno.mkdir(denoDir);
    await Deno.chown(denoDir, NOBODY, NOBODY);
    return { dir, main: `${app}/main.ts`, denoDir, [Symbol.asyncDispose]: remove };
  } catch (e) {
    await remove();
    throw e;
  }
}

/**
 * A command running `deno run -A <main> ...args` as `nobody` (no
 * supplementary groups), with `app`'s DENO_DIR; `main` defaults to the copy's.
 */
export function asNobody(
  app: ReadableCopy,
  args: string[],
  main: string = app.main,
): Deno.Command {
  return new Deno.Command("setpriv", {
    args: [
      `--reuid=${NOBODY}`,
      `--regid=${NOBODY}`,
      "--clear-groups",
      Deno.execPath(),
      "run",
      "-A",
      main,
      ...args,
    ],
    cwd: app.dir,
    env: {
      DENO_DIR: app.denoDir,
      HOME: app.dir,
      NO_COLOR: "1",
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

async function run(cmd: string, args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command(cmd, { args, cwd, stdin: "null" }).output();
  if (out.code !== 0) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}
