// use_stream.ts: the React binding — a panel reads one endpoint of a StreamClient in one line.
// React is a peer dependency: the library itself imports nothing at run time but this hook.
import { useEffect, useState } from "react";
import type { ConnectionState } from "./endpoint_connection.js";
import type { DataMessage, Endpoint, Welcome } from "./protocol.js";
import { STATE_TYPES } from "./protocol.js";
import { StreamClient, type StreamClientOptions } from "./stream_client.js";

export interface StreamView {
  /** This endpoint's connection state. */
  state: ConnectionState;
  /** The newest state message (channel_update, validator_update, …) per channel. */
  latest: Readonly<Record<string, DataMessage>>;
  /** The newest event messages (block, transaction), newest first, at most `keep`. */
  recent: readonly DataMessage[];
  /** The last welcome (its clock maps `time` to the wall clock). */
  welcome: Welcome | undefined;
}

export interface UseStreamOptions {
  /** How many events `recent` keeps (default 20). */
  keep?: number;
}

/** A StreamClient for the component's lifetime: connected on mount, closed on unmount. */
export function useStreamClient(options: StreamClientOptions): StreamClient | undefined {
  const [client, setClient] = useState<StreamClient>();
  useEffect(() => {
    const c = new StreamClient(options).connect();
    setClient(c);
    return () => c.close();
    // The options are read once: a new client per mount, not per render.
  }, []);
  return client;
}

/** The live view of one endpoint of `client`; re-renders at most once per animation frame. */
export function useStream(client: StreamClient | undefined, endpoint: Endpoint, options: UseStreamOptions = {}): StreamView {
  const keep = options.keep ?? 20;
  const [view, setView] = useState<StreamView>(() => ({
    state: client?.endpointState(endpoint) ?? "connecting",
    latest: {},
    recent: [],
    welcome: undefined,
  }));
  useEffect(() => {
    if (!client) return;
    let current: StreamView = { state: client.endpointState(endpoint) ?? "connecting", latest: {}, recent: [], welcome: undefined };
    let scheduled = false;
    const schedule = () => {
      if (scheduled) return;
      scheduled = true;
      const flush = () => {
        scheduled = false;
        setView(current);
      };
      if (typeof requestAnimationFrame === "function") requestAnimationFrame(flush);
      else setTimeout(flush, 16);
    };
    const offs = [
      client.on("message", ({ endpoint: e, message }) => {
        if (e !== endpoint) return;
        if (STATE_TYPES.has(message.type)) current = { ...current, latest: { ...current.latest, [message.channel]: message } };
        else current = { ...current, recent: [message, ...current.recent].slice(0, keep) };
        schedule();
      }),
      client.on("endpointState", ({ endpoint: e, state }) => {
        if (e !== endpoint) return;
        current = { ...current, state };
        schedule();
      }),
      client.on("welcome", ({ endpoint: e, welcome }) => {
        if (e !== endpoint) return;
        current = { ...current, welcome };
        schedule();
      }),
    ];
    setView(current);
    return () => offs.forEach((off) => off());
  }, [client, endpoint, keep]);
  return view;
}

/** The client's aggregate connection state. */
export function useConnectionState(client: StreamClient | undefined): ConnectionState {
  const [state, setState] = useState<ConnectionState>(client?.state ?? "connecting");
  useEffect(() => {
    if (!client) return;
    setState(client.state);
    return client.on("state", setState);
  }, [client]);
  return state;
}
