// react.ts: the React binding's entry (React is a peer dependency).
export { useStream, useStreamClient, useConnectionState } from "./use_stream.js";
export type { StreamView, UseStreamOptions } from "./use_stream.js";
