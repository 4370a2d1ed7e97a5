// main.tsx: the dashboard — the page served at `/`, and the portal teams' worked example of
// StreamClient + useStream. The page's own `?token=` (and `?batch=1`) go to the client.
import { StrictMode, useEffect } from "react";
import { createRoot } from "react-dom/client";
import type { StreamClient, StreamClientOptions } from "../src/index.js";
import { useConnectionState, useStreamClient } from "../src/react.js";
import { Audit } from "./audit.js";
import { Sparkline, useSeries } from "./charts.js";
import { ChannelsPanel, ConsensusPanel, MetricsPanel, NetworkPanel, TransactionsPanel, ValidatorsPanel } from "./panels.js";
import "./style.css";

declare global {
  interface Window {
    /** For the console and the browser tests: the client and the dashboard's audit of it. */
    streambed?: { client: StreamClient; audit: Audit };
  }
}

function options(): StreamClientOptions {
  const params = new URLSearchParams(location.search);
  const token = params.get("token");
  return {
    url: location.origin,
    streams: {
      "/ws/channels": ["*"],
      "/ws/transactions": ["*"],
      "/ws/validators": ["*"],
      "/ws/consensus": [],
      "/ws/network": [],
      "/ws/metrics": [],
    },
    ...(token !== null ? { token } : {}),
    batch: params.get("batch") === "1",
  };
}

function Footer({ client }: { client: StreamClient | undefined }) {
  const tick = useSeries(client, "tps").length; // re-render with the stream
  const audit = window.streambed?.audit;
  return (
    <footer data-testid="audit" data-tick={tick}>
      {audit
        ? `${Object.keys(audit.streams).length} streams · gaps ${audit.gaps.length} · duplicates ${audit.duplicates.length} · resets ${audit.resets}`
        : ""}
    </footer>
  );
}

function Dashboard() {
  const client = useStreamClient(options());
  const state = useConnectionState(client);
  useEffect(() => {
    if (client) window.streambed = { client, audit: new Audit(client) };
  }, [client]);
  const tps = useSeries(client, "tps");
  const lateness = useSeries(client, "lateness");
  return (
    <main>
      <header>
        <h1>streambed</h1>
        <span className={`badge ${state}`} data-testid="badge">
          {state}
        </span>
        <Sparkline title="TPS" unit="tx/s" values={tps} testId="chart-tps" />
        <Sparkline title="Lateness" unit="ms" values={lateness} testId="chart-lateness" />
      </header>
      <div className="grid">
        <ChannelsPanel client={client} />
        <MetricsPanel client={client} />
        <ConsensusPanel client={client} />
        <NetworkPanel client={client} />
        <ValidatorsPanel client={client} />
        <TransactionsPanel client={client} />
      </div>
      <Footer client={client} />
    </main>
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <Dashboard />
  </StrictMode>,
);
