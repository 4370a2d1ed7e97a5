// server.ts: `streambed serve` (or `replay`) as a real child process for the portal's tests —
// started on port 0 (or on the port of a server it replaces), its listening line awaited with a
// deadline, and killed when the test ends, passes or not, and when the test process exits.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

// The tests run compiled, from BUILD/portal-tests/ (build.mjs --tests): the defaults are
// relative to it; ctest sets the variables.
const here = path.dirname(fileURLToPath(import.meta.url));

/** The program under test. */
export const BINARY = process.env.STREAMBED_BINARY ?? path.resolve(here, "../streambed");
/** Where failing tests leave screenshots and console logs. */
export const BUILD_DIR = process.env.STREAMBED_BUILD ?? path.resolve(here, "..");
/** The repository's fixtures. */
export const FIXTURES = process.env.STREAMBED_FIXTURES ?? path.resolve(here, "../../fixtures");

const running = new Set<ChildProcess>();
process.on("exit", () => running.forEach((c) => c.kill("SIGKILL")));

export class ServerProcess {
  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
    readonly scheme: "http" | "https",
    readonly stderr: () => string,
  ) {}

  get httpUrl(): string {
    return `${this.scheme}://127.0.0.1:${this.port}`;
  }
  get wsUrl(): string {
    return `${this.scheme === "https" ? "wss" : "ws"}://127.0.0.1:${this.port}`;
  }

  /** `streambed COMMAND --port PORT ARGS…` (PORT 0 unless given), once it prints its listening line. */
  static async start(command: "serve" | "replay", args: string[], port = 0): Promise<ServerProcess> {
    const child = spawn(BINARY, [command, "--port", String(port), ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      // The server ends with this process even when it is killed outright (a ctest timeout),
      // as `bench`'s servers do (app/server_runner.cpp).
      env: { ...process.env, STREAMBED_EXIT_WITH_PARENT: String(process.pid) },
    });
    running.add(child);
    child.on("exit", () => running.delete(child));
    let err = "";
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
    const lines = createInterface({ input: child.stdout! });
    const line = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line within 10 s; stderr: ${err}`)), 10_000);
      lines.once("line", (l) => {
        clearTimeout(timer);
        resolve(l);
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`streambed ${command} exited with ${code} before listening; stderr: ${err}`));
      });
    });
    const m = /^listening on (https?):\/\/127\.0\.0\.1:(\d+)$/.exec(line);
    if (!m) {
      child.kill("SIGKILL");
      throw new Error(`unexpected first line: ${line}`);
    }
    return new ServerProcess(child, Number(m[2]), m[1] as "http" | "https", () => err);
  }

  /** SIGKILL, as a crash: no close frame reaches the clients. Resolves once the process is gone. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const gone = once(this.child, "exit");
    this.child.kill("SIGKILL");
    await gone;
  }

  /** Freezes the process (SIGSTOP): its sockets stay open and silent. */
  freeze(): void {
    this.child.kill("SIGSTOP");
  }
  thaw(): void {
    this.child.kill("SIGCONT");
  }

  async getJson<T>(pathAndQuery: string): Promise<T> {
    const res = await fetch(`${this.httpUrl}${pathAndQuery}`);
    if (!res.ok) throw new Error(`GET ${pathAndQuery}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }
}

/** Resolves when `condition` holds; rejects with `what` (and `detail()`) after `timeoutMs`. */
export async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  detail: () => string = () => "",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} ${detail()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The wall clock now, in ms, as `--clock-start` takes it. */
export function clockStartNow(): string {
  return String(Date.now());
}
