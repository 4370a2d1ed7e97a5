// index.ts: the library's public surface. `StreamClient` needs nothing at run time; the React
// binding lives in its own entry (`./react`) so that a non-React user never imports React.
export { StreamClient, dueAt } from "./stream_client.js";
export type { StreamClientOptions, StreamClientEvents, Delivery, Gap } from "./stream_client.js";
export type { ConnectionState, Via, WebSocketLike, WebSocketFactory, FetchLike } from "./endpoint_connection.js";
export { Backoff } from "./backoff.js";
export type { BackoffOptions } from "./backoff.js";
export * from "./protocol.js";
