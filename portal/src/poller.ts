// poller.ts: the polling loop of one endpoint — a GET every `intervalMs` while polls succeed,
// backoff while they fail, and an abort that makes a reply still in flight count for nothing
// (the WebSocket that took over has already resumed from the seqs the poll would advance).
import { Backoff, type BackoffOptions } from "./backoff.js";
import type { PollReply } from "./protocol.js";

export type FetchLike = (url: string, init: { signal: AbortSignal }) => Promise<{
  ok: boolean;
  status: number;
  json(): Promise<unknown>;
}>;

export interface PollerHost {
  /** The next poll's URL: `since` and `epoch` as they are now. */
  url(): string;
  apply(reply: PollReply): void;
  /** `ok` or `failed` changed, or a poll succeeded. */
  changed(): void;
  error(e: Error): void;
}

export class Poller {
  /** Started and not stopped. */
  active = false;
  /** The last poll succeeded. */
  ok = false;
  /** The last poll failed. */
  failed = false;
  private readonly backoff: Backoff;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private abort: AbortController | undefined;

  constructor(
    private readonly fetch: FetchLike,
    private readonly intervalMs: number,
    backoff: BackoffOptions,
    private readonly host: PollerHost,
  ) {
    this.backoff = new Backoff(backoff);
  }

  start(): void {
    this.active = true;
    this.backoff.reset();
    this.now();
  }

  stop(): void {
    this.active = false;
    this.ok = this.failed = false;
    this.halt();
  }

  /** Offline: the poll in flight and the next one are dropped; `now()` goes on. */
  halt(): void {
    clearTimeout(this.timer);
    this.abort?.abort();
    this.abort = undefined;
    this.ok = false;
  }

  now(): void {
    clearTimeout(this.timer);
    this.backoff.reset();
    void this.once();
  }

  private async once(): Promise<void> {
    if (!this.active) return;
    const abort = new AbortController();
    this.abort = abort;
    const url = this.host.url();
    try {
      const res = await this.fetch(url, { signal: abort.signal });
      const body = await res.json();
      if (!res.ok) {
        const e = body as { error?: string; message?: string };
        throw new Error(`poll ${url}: HTTP ${res.status} ${e.error ?? ""} ${e.message ?? ""}`);
      }
      if (abort.signal.aborted || !this.active) return;
      this.host.apply(body as PollReply);
      this.ok = true;
      this.failed = false;
      this.backoff.reset();
      this.host.changed();
      this.timer = setTimeout(() => void this.once(), this.intervalMs);
    } catch (e) {
      if (abort.signal.aborted || !this.active) return;
      this.ok = false;
      this.failed = true;
      this.host.error(e instanceof Error ? e : new Error(String(e)));
      this.host.changed();
      this.timer = setTimeout(() => void this.once(), this.backoff.next());
    }
  }
}
