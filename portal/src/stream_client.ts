// stream_client.ts: StreamClient, the reference client of the protocol — one or more endpoints
// of one server, each kept connected, resumed and (when WebSocket is unavailable) polled by an
// EndpointConnection; one typed event stream and one connection state for the application.
import type { BackoffOptions } from "./backoff.js";
import { Emitter } from "./emitter.js";
import {
  EndpointConnection,
  type ConnectionState,
  type FetchLike,
  type Via,
  type WebSocketFactory,
} from "./endpoint_connection.js";
import type { Clock, ControlMessage, DataMessage, Endpoint, Reset, Welcome } from "./protocol.js";

export interface StreamClientOptions {
  /** The server: `ws://host:port`, `wss://…`, `http(s)://…`; default: the page's own origin. */
  url?: string;
  /** Endpoint → channels to subscribe (`["*"]`: all, present and future). Single-channel
   * endpoints (`/ws/consensus`, `/ws/network`, `/ws/metrics`) take `[]`. */
  streams: Partial<Record<Endpoint, string[]>>;
  /** Sent as `?token=` on upgrades and polls (`serve --auth-token`). */
  token?: string;
  /** `?batch=1`: the server may send arrays of messages. */
  batch?: boolean;
  /** Reconnect waits: full jitter between minMs (500) and a ceiling doubling up to maxMs (20 000). */
  backoff?: BackoffOptions;
  /** Failed upgrades in a row before polling starts (default 2); WebSocket is retried meanwhile. */
  fallbackAfter?: number;
  /** Polling cadence while polling (default 1000 ms). */
  pollIntervalMs?: number;
  /** Silence before a ping and again before the connection counts as dead; default the welcome's heartbeatMs. */
  silenceMs?: number;
  /** Default: globalThis.WebSocket (Node: pass one, e.g. the `ws` package's). */
  WebSocket?: WebSocketFactory;
  /** Default: globalThis.fetch. */
  fetch?: FetchLike;
}

/** A data message, with where it came from. */
export interface Delivery {
  endpoint: Endpoint;
  via: Via;
  message: DataMessage;
}
export interface Gap {
  endpoint: Endpoint;
  channel: string;
  /** The last seq before the jump. */
  after: number;
  seq: number;
  /** A state message skipped by the server's conflation (allowed on state streams), not a loss. */
  conflated: boolean;
}

export interface StreamClientEvents {
  /** The aggregate state changed. */
  state: ConnectionState;
  /** One endpoint's state changed. */
  endpointState: { endpoint: Endpoint; state: ConnectionState };
  message: Delivery;
  welcome: { endpoint: Endpoint; welcome: Welcome };
  /** The stream starts again from the snapshot that follows (a new world or lost history). */
  reset: { endpoint: Endpoint; via: Via; reset: Reset };
  gap: Gap;
  /** Every control message received over WebSocket (welcome, subscribed, pong, reset, error, …). */
  control: { endpoint: Endpoint; message: ControlMessage };
  /** A transport problem the client is handling (failed upgrade, failed poll, silence). */
  error: { endpoint: Endpoint; error: Error };
}

function bases(url: string | undefined): { ws: string; http: string } {
  const raw = url ?? (typeof location !== "undefined" ? location.origin : undefined);
  if (!raw) throw new TypeError("StreamClient: give `url` (no page origin to default to)");
  const u = new URL(raw);
  const secure = u.protocol === "wss:" || u.protocol === "https:";
  if (!["ws:", "wss:", "http:", "https:"].includes(u.protocol))
    throw new TypeError(`StreamClient: url '${raw}' must be ws://, wss://, http:// or https://`);
  return { ws: `${secure ? "wss" : "ws"}://${u.host}`, http: `${secure ? "https" : "http"}://${u.host}` };
}

export class StreamClient extends Emitter<StreamClientEvents> {
  private readonly links = new Map<Endpoint, EndpointConnection>();
  private aggregate: ConnectionState = "connecting";
  private started = false;
  private closed = false;
  private readonly onOnline = () => this.links.forEach((l) => l.online());
  private readonly onOffline = () => this.links.forEach((l) => l.offline());

  constructor(options: StreamClientOptions) {
    super();
    const { ws, http } = bases(options.url);
    const WebSocketImpl = options.WebSocket ?? (globalThis.WebSocket as unknown as WebSocketFactory | undefined);
    const fetchImpl = options.fetch ?? (globalThis.fetch?.bind(globalThis) as FetchLike | undefined);
    if (!WebSocketImpl) throw new TypeError("StreamClient: no WebSocket here; pass options.WebSocket");
    if (!fetchImpl) throw new TypeError("StreamClient: no fetch here; pass options.fetch");
    const endpoints = Object.keys(options.streams) as Endpoint[];
    if (endpoints.length === 0) throw new TypeError("StreamClient: `streams` names no endpoint");
    for (const endpoint of endpoints) {
      const emitState = () => this.endpointStateChanged(endpoint);
      const link = new EndpointConnection(
        {
          wsBase: ws,
          httpBase: http,
          endpoint,
          channels: options.streams[endpoint] ?? [],
          token: options.token,
          batch: options.batch ?? false,
          backoff: options.backoff ?? {},
          fallbackAfter: options.fallbackAfter ?? 2,
          pollIntervalMs: options.pollIntervalMs ?? 1000,
          silenceMs: options.silenceMs,
          WebSocket: WebSocketImpl,
          fetch: fetchImpl,
        },
        {
          message: (message, via) => this.emit("message", { endpoint, via, message }),
          control: (message) => this.emit("control", { endpoint, message }),
          welcome: (welcome) => this.emit("welcome", { endpoint, welcome }),
          reset: (reset, via) => this.emit("reset", { endpoint, via, reset }),
          gap: (channel, after, seq, conflated) => this.emit("gap", { endpoint, channel, after, seq, conflated }),
          state: emitState,
          error: (error) => this.emit("error", { endpoint, error }),
        },
      );
      this.links.set(endpoint, link);
    }
  }

  /** Opens every endpoint; listens to the browser's online/offline events. */
  connect(): this {
    if (this.started || this.closed) return this;
    this.started = true;
    if (typeof globalThis.addEventListener === "function") {
      globalThis.addEventListener("online", this.onOnline);
      globalThis.addEventListener("offline", this.onOffline);
    }
    this.links.forEach((l) => l.start());
    return this;
  }

  /** Closes every connection and stops every retry and poll; the state becomes `closed`. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (typeof globalThis.removeEventListener === "function") {
      globalThis.removeEventListener("online", this.onOnline);
      globalThis.removeEventListener("offline", this.onOffline);
    }
    this.links.forEach((l) => l.close());
  }

  /** All live → live; any reconnecting → reconnecting; then connecting; then polling. */
  get state(): ConnectionState {
    return this.aggregate;
  }

  endpointState(endpoint: Endpoint): ConnectionState | undefined {
    return this.links.get(endpoint)?.state;
  }

  /** The newest seq taken on a stream (what a resume sends as `since`). */
  lastSeq(endpoint: Endpoint, channel: string): number | undefined {
    return this.links.get(endpoint)?.lastSeq(channel);
  }

  /** The epoch the endpoint's seqs belong to (the welcome's or the last poll's). */
  epoch(endpoint: Endpoint): string | undefined {
    return this.links.get(endpoint)?.epoch;
  }

  /** The last welcome's clock: maps a message's `time` to the wall instant it was due. */
  clock(endpoint: Endpoint): Clock | undefined {
    return this.links.get(endpoint)?.clock;
  }

  private endpointStateChanged(endpoint: Endpoint): void {
    const state = this.links.get(endpoint)?.state;
    if (state) this.emit("endpointState", { endpoint, state });
    const states = [...this.links.values()].map((l) => l.state);
    const next: ConnectionState = this.closed
      ? "closed"
      : states.includes("reconnecting")
        ? "reconnecting"
        : states.includes("connecting")
          ? "connecting"
          : states.includes("polling")
            ? "polling"
            : "live";
    if (next === this.aggregate) return;
    this.aggregate = next;
    this.emit("state", next);
  }
}

/** When a message was due on the wall clock (Unix ms), by the welcome's clock; undefined when unpaced. */
export function dueAt(clock: Clock, time: number): number | undefined {
  if (clock.scale <= 0) return undefined;
  return (clock.wall + ((time - clock.time) * 1000) / clock.scale) / 1000;
}
