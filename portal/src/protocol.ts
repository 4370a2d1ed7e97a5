// protocol.ts: the types of every message of protocol v1 (docs/protocol.md, the spec's
// /work/shared/spec/protocol.md), server → client and client → server, and of the polling API.

/** The six endpoints, by their path. */
export type Endpoint =
  | "/ws/channels"
  | "/ws/transactions"
  | "/ws/validators"
  | "/ws/consensus"
  | "/ws/network"
  | "/ws/metrics";

export const ENDPOINTS: readonly Endpoint[] = [
  "/ws/channels",
  "/ws/transactions",
  "/ws/validators",
  "/ws/consensus",
  "/ws/network",
  "/ws/metrics",
];

/** The endpoints that subscribe a connection to their single channel as soon as it opens. */
export const SINGLE_CHANNEL: Readonly<Partial<Record<Endpoint, string>>> = {
  "/ws/consensus": "consensus",
  "/ws/network": "network",
  "/ws/metrics": "metrics",
};

// ---- data payloads (camelCase; the spec allows more fields to be added) ----

export interface ChannelUpdate {
  blockHeight: number;
  txCount: number;
  tps: number;
  pendingTx: number;
  avgLatencyMs: number;
  status: "active" | "degraded" | "halted";
}
export interface Block {
  height: number;
  hash: string;
  parentHash: string;
  txCount: number;
  proposer: string;
}
export interface Transaction {
  id: string;
  from: string;
  to: string;
  amount: number;
  fee: number;
  blockHeight: number;
}
export interface ValidatorUpdate {
  id: string;
  status: "active" | "jailed" | "offline";
  stake: number;
  votingPower: number;
  uptime: number;
  missedBlocks: number;
}
export interface ConsensusUpdate {
  height: number;
  round: number;
  phase: "propose" | "prevote" | "precommit" | "commit";
  leader: string;
  votes: number;
  quorum: number;
}
export interface NetworkStatus {
  peers: number;
  avgLatencyMs: number;
  inboundKbps: number;
  outboundKbps: number;
  health: "healthy" | "degraded" | "partitioned";
}
export interface Metrics {
  tps: number;
  txTotal: number;
  blockHeight: number;
  cpuPercent: number;
  memoryMb: number;
}

/** Data type name → payload. */
export interface DataTypes {
  channel_update: ChannelUpdate;
  block: Block;
  transaction: Transaction;
  validator_update: ValidatorUpdate;
  consensus_update: ConsensusUpdate;
  network_status: NetworkStatus;
  metrics: Metrics;
}
export type DataType = keyof DataTypes;

/** State types are snapshotted and may be conflated; the others are events. */
export const STATE_TYPES: ReadonlySet<DataType> = new Set<DataType>([
  "channel_update",
  "validator_update",
  "consensus_update",
  "network_status",
  "metrics",
]);

/** One data message: `{"type","channel","seq","time","data"}`. */
export type DataMessage<T extends DataType = DataType> = {
  [K in T]: { type: K; channel: string; seq: number; time: number; data: DataTypes[K] };
}[T];

// ---- control messages ----

export interface Clock {
  /** Simulated Unix ms at `wall`. */
  time: number;
  /** System-clock Unix µs. */
  wall: number;
  /** Simulated ms per wall ms; 0 when the source runs unpaced. */
  scale: number;
}
export interface Welcome {
  type: "welcome";
  protocol: number;
  endpoint: Endpoint;
  session: string;
  channels: string[];
  heartbeatMs: number;
  clock: Clock;
  epoch: string;
}
export interface Subscribed {
  type: "subscribed";
  channels: string[];
  recovered?: Record<string, boolean>;
}
export interface Unsubscribed {
  type: "unsubscribed";
  channels: string[];
}
export interface Pong {
  type: "pong";
  id?: unknown;
}
export interface Reset {
  type: "reset";
  channel: string;
  seq: number;
  reason: "history_exceeded" | "epoch_changed" | string;
}
export type ErrorCode =
  | "bad_json"
  | "bad_request"
  | "unknown_action"
  | "unknown_channel"
  | "too_many_subscriptions"
  | "rate_limited";
export interface ErrorMessage {
  type: "error";
  code: ErrorCode | string;
  message: string;
}
export type ControlMessage = Welcome | Subscribed | Unsubscribed | Pong | Reset | ErrorMessage;
export type ServerMessage = DataMessage | ControlMessage;

// ---- client → server ----

export interface SubscribeRequest {
  action: "subscribe";
  channels: string[];
  since?: Record<string, number>;
  epoch?: string;
}
export interface UnsubscribeRequest {
  action: "unsubscribe";
  channels: string[];
}
export interface PingRequest {
  action: "ping";
  id?: unknown;
}
export type ClientRequest = SubscribeRequest | UnsubscribeRequest | PingRequest;

// ---- HTTP polling: GET /api/v11/poll/{endpoint}?channels=…&since=…&epoch=… ----

export interface PollReply {
  messages: DataMessage[];
  next: Record<string, number>;
  reset: string[];
  epoch: string;
}
/** Every HTTP error body: `{"error":CODE,"message":TEXT}`. */
export interface HttpError {
  error: string;
  message: string;
}

export function isDataMessage(m: ServerMessage): m is DataMessage {
  return "seq" in m && "data" in m && typeof (m as { seq: unknown }).seq === "number";
}
