// endpoint_connection.ts: one endpoint's link to the server — a WebSocket, reconnected with
// backoff and resumed with `since` + `epoch`, or, when the upgrade keeps failing while HTTP
// works, the polling API until a WebSocket connects again. Both paths feed one per-stream
// `lastSeq`, which is what makes either switch free of gaps and duplicates.
import { Backoff, type BackoffOptions } from "./backoff.js";
import { Poller, type FetchLike } from "./poller.js";
import { SeqBook, type SeqVerdict } from "./seq_book.js";
import {
  SINGLE_CHANNEL,
  STATE_TYPES,
  isDataMessage,
  type Clock,
  type ControlMessage,
  type DataMessage,
  type Endpoint,
  type PollReply,
  type Reset,
  type ServerMessage,
  type SubscribeRequest,
  type Welcome,
} from "./protocol.js";

export type ConnectionState = "connecting" | "live" | "reconnecting" | "polling" | "closed";
export type Via = "websocket" | "poll";

/** The part of the WebSocket API the client uses: the browser's, or a Node implementation's. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketFactory = new (url: string) => WebSocketLike;
export type { FetchLike };

export interface LinkOptions {
  wsBase: string;
  httpBase: string;
  endpoint: Endpoint;
  /** Channels to subscribe (multi-channel endpoints); `["*"]` for every one. */
  channels: string[];
  token?: string | undefined;
  batch: boolean;
  backoff: BackoffOptions;
  /** Consecutive failed upgrades before polling starts. */
  fallbackAfter: number;
  pollIntervalMs: number;
  /** Silence before a ping, and again before the connection is dropped; default: the welcome's heartbeatMs. */
  silenceMs?: number | undefined;
  WebSocket: WebSocketFactory;
  fetch: FetchLike;
}

export interface LinkEvents {
  message(m: DataMessage, via: Via): void;
  control(m: ControlMessage): void;
  welcome(w: Welcome): void;
  reset(r: Reset, via: Via): void;
  gap(channel: string, after: number, seq: number, conflated: boolean): void;
  state(): void;
  error(e: Error): void;
}

// Before a welcome tells the heartbeat, a handshake that hangs is given this long.
const HANDSHAKE_SILENCE_MS = 10_000;

export class EndpointConnection {
  private readonly book = new SeqBook();
  private readonly wsBackoff: Backoff;
  private readonly poller: Poller;
  private ws: WebSocketLike | null = null;
  private welcomed = false;
  private everLive = false;
  private failures = 0; // upgrades in a row that never reached a welcome
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private silenceTimer: ReturnType<typeof setTimeout> | undefined;
  private lastReceived = 0;
  private pinged = false;
  private heartbeatMs = HANDSHAKE_SILENCE_MS;
  private closed = false;
  private paused = false; // offline: no attempt until online
  private pendingResume = new Set<string>();
  epoch: string | undefined;
  clock: Clock | undefined;

  constructor(
    private readonly o: LinkOptions,
    private readonly on: LinkEvents,
  ) {
    this.wsBackoff = new Backoff(o.backoff);
    this.poller = new Poller(o.fetch, o.pollIntervalMs, o.backoff, {
      url: () => this.pollUrl(),
      apply: (reply) => this.applyPoll(reply),
      changed: () => this.on.state(),
      error: (e) => this.on.error(e),
    });
  }

  get state(): ConnectionState {
    if (this.closed) return "closed";
    if (this.welcomed) return "live";
    if (this.poller.active && this.poller.ok) return "polling";
    if (this.everLive || this.failures > 0 || this.poller.failed || this.paused) return "reconnecting";
    return "connecting";
  }

  lastSeq(channel: string): number | undefined {
    return this.book.last(channel);
  }

  start(): void {
    this.openWebSocket();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.poller.stop();
    clearTimeout(this.retryTimer);
    this.dropSocket(1000, "client closed");
    this.on.state();
  }

  /** The browser went offline: nothing can work until it is back. */
  offline(): void {
    if (this.closed) return;
    this.paused = true;
    clearTimeout(this.retryTimer);
    if (this.ws) this.lost();
    this.poller.halt(); // after lost(), which may have started it
    this.on.state();
  }

  /** Back online: try at once, from the shortest backoff. */
  online(): void {
    if (this.closed || !this.paused) return;
    this.paused = false;
    this.wsBackoff.reset();
    clearTimeout(this.retryTimer);
    if (!this.ws) this.openWebSocket();
    if (this.poller.active) this.poller.now();
  }

  // ---- WebSocket ------------------------------------------------------------------------

  private query(extra: string[]): string {
    const q = [...extra];
    if (this.o.token !== undefined) q.push(`token=${encodeURIComponent(this.o.token)}`);
    return q.length ? `?${q.join("&")}` : "";
  }

  private openWebSocket(): void {
    if (this.closed || this.paused) return;
    const url = `${this.o.wsBase}${this.o.endpoint}${this.query(this.o.batch ? ["batch=1"] : [])}`;
    let ws: WebSocketLike;
    try {
      ws = new this.o.WebSocket(url);
    } catch (e) {
      this.on.error(e instanceof Error ? e : new Error(String(e)));
      return this.lost();
    }
    this.ws = ws;
    this.heartbeatMs = HANDSHAKE_SILENCE_MS;
    this.touch();
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      this.touch();
      if (typeof ev.data !== "string") return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(ev.data);
      } catch {
        this.on.error(new Error(`${this.o.endpoint}: a frame that is not JSON`));
        return;
      }
      // With ?batch=1 a frame may be an array of data messages, in order.
      for (const m of Array.isArray(parsed) ? parsed : [parsed]) {
        if (typeof m === "object" && m !== null && typeof (m as { type?: unknown }).type === "string")
          this.receive(m as ServerMessage);
        else this.on.error(new Error(`${this.o.endpoint}: a message without a type`));
      }
    };
    ws.onclose = () => {
      if (this.ws === ws) this.lost();
    };
    ws.onerror = () => {
      if (this.ws === ws) this.lost();
    };
  }

  private receive(m: ServerMessage): void {
    if (isDataMessage(m)) {
      // A resume is answered by `subscribed`, then the history after `since`: whatever arrived
      // before (a single-channel endpoint's snapshot and live messages) is sent again in order.
      if (this.pendingResume.has(m.channel)) return;
      return this.deliver(m, "websocket");
    }
    switch (m.type) {
      case "welcome":
        this.onWelcome(m);
        break;
      case "subscribed":
        this.pendingResume.clear();
        break;
      case "reset":
        this.book.reset(m.channel);
        this.on.reset(m, "websocket");
        break;
    }
    this.on.control(m);
  }

  private onWelcome(w: Welcome): void {
    this.heartbeatMs = w.heartbeatMs;
    this.clock = w.clock;
    const single = SINGLE_CHANNEL[this.o.endpoint];
    const channels = single ? [single] : this.o.channels;
    const since = this.book.since(single ? [single] : undefined);
    const resuming = Object.keys(since).length > 0;
    // The seqs were read under the previous epoch: the server resets them if its world differs.
    if (!single || resuming) {
      const req: SubscribeRequest = { action: "subscribe", channels };
      if (resuming) {
        req.since = since;
        if (this.epoch !== undefined) req.epoch = this.epoch;
        this.pendingResume = new Set(Object.keys(since));
      }
      this.ws?.send(JSON.stringify(req));
    }
    this.epoch = w.epoch;
    this.welcomed = true;
    this.everLive = true;
    this.failures = 0;
    this.wsBackoff.reset();
    this.poller.stop(); // a poll in flight is aborted: the subscribe above used lastSeq already
    this.on.welcome(w);
    this.on.state();
  }

  private deliver(m: DataMessage, via: Via): void {
    const verdict: SeqVerdict = this.book.accept(m.channel, m.seq, STATE_TYPES.has(m.type));
    if (verdict.kind === "duplicate") return;
    // Conflation skips states of a slow WebSocket client; any other jump is a gap.
    if (verdict.kind === "jump")
      this.on.gap(m.channel, verdict.after, m.seq, via === "websocket" && STATE_TYPES.has(m.type));
    this.on.message(m, via);
  }

  private dropSocket(code: number, reason: string): void {
    const ws = this.ws;
    this.ws = null;
    clearTimeout(this.silenceTimer);
    this.silenceTimer = undefined; // the next socket arms its own
    if (!ws) return;
    ws.onopen = ws.onmessage = ws.onclose = null;
    // Closing a socket still connecting fails it: Node implementations (ws) then throw an
    // error that nobody listens to. Browsers only log it.
    ws.onerror = () => undefined;
    try {
      ws.close(code, reason);
    } catch {
      // already closing
    }
  }

  /** The WebSocket failed or closed: retry with backoff, and poll meanwhile if upgrades keep failing. */
  private lost(): void {
    const wasLive = this.welcomed;
    this.dropSocket(1000, "reconnecting");
    this.welcomed = false;
    this.pendingResume.clear();
    if (this.closed) return;
    if (!wasLive) {
      this.failures += 1;
      if (this.failures >= this.o.fallbackAfter && !this.poller.active) this.poller.start();
    }
    this.on.state();
    if (this.paused) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.openWebSocket(), this.wsBackoff.next());
  }

  // ---- heartbeat: a silent connection is a dead one ---------------------------------------

  private touch(): void {
    this.lastReceived = Date.now();
    this.pinged = false;
    if (this.silenceTimer === undefined) this.armSilence(this.silence());
  }

  private silence(): number {
    return this.o.silenceMs ?? this.heartbeatMs;
  }

  private armSilence(ms: number): void {
    this.silenceTimer = setTimeout(() => {
      this.silenceTimer = undefined;
      if (!this.ws) return;
      const quiet = Date.now() - this.lastReceived;
      if (quiet < this.silence()) return this.armSilence(this.silence() - quiet);
      if (!this.pinged && this.welcomed) {
        // Browsers answer the server's ping frames but never show them: ask for a pong instead.
        this.pinged = true;
        this.ws.send(JSON.stringify({ action: "ping", id: "heartbeat" }));
        return this.armSilence(this.silence());
      }
      this.on.error(new Error(`${this.o.endpoint}: silent for ${quiet} ms, reconnecting`));
      this.lost();
    }, ms);
  }

  // ---- polling fallback ---------------------------------------------------------------------

  /** The poll of every wanted stream, from the seqs and the epoch of the book. */
  private pollUrl(): string {
    const single = SINGLE_CHANNEL[this.o.endpoint];
    const params: string[] = [];
    const wanted = single ? [single] : this.o.channels;
    if (!wanted.includes("*")) params.push(`channels=${wanted.map(encodeURIComponent).join(",")}`);
    const since = Object.entries(this.book.since(single ? [single] : undefined));
    if (since.length)
      params.push(`since=${since.map(([c, s]) => `${encodeURIComponent(c)}:${s}`).join(",")}`);
    if (this.epoch !== undefined) params.push(`epoch=${encodeURIComponent(this.epoch)}`);
    return `${this.o.httpBase}/api/v11/poll/${this.o.endpoint.slice(4)}${this.query(params)}`;
  }

  private applyPoll(reply: PollReply): void {
    const foreign = this.epoch !== undefined && reply.epoch !== this.epoch;
    for (const channel of reply.reset) {
      this.book.reset(channel);
      const r: Reset = {
        type: "reset",
        channel,
        seq: reply.next[channel] ?? 0,
        reason: foreign ? "epoch_changed" : "history_exceeded",
      };
      this.on.reset(r, "poll");
    }
    for (const m of reply.messages) this.deliver(m, "poll");
    // A stream seen for the first time without a snapshot (events) starts at the newest seq.
    for (const [channel, seq] of Object.entries(reply.next)) this.book.settle(channel, seq);
    this.epoch = reply.epoch;
  }
}
