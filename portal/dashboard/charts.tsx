// charts.tsx: small SVG line charts (no charting library: a polyline is enough) and the two
// series the dashboard plots — TPS from the metrics stream, and lateness: how long after its due
// instant (the welcome's clock) each message arrived.
import { useEffect, useState } from "react";
import { dueAt, type StreamClient } from "../src/index.js";

const POINTS = 60;

export function useSeries(client: StreamClient | undefined, pick: "tps" | "lateness"): number[] {
  const [series, setSeries] = useState<number[]>([]);
  useEffect(() => {
    if (!client) return;
    // The first message after a welcome is the snapshot (or history): old by design, not late.
    let snapshot = false;
    const offWelcome = client.on("welcome", ({ endpoint }) => {
      if (endpoint === "/ws/metrics") snapshot = true;
    });
    const offMessage = client.on("message", ({ endpoint, via, message }) => {
      if (endpoint !== "/ws/metrics" || message.type !== "metrics") return;
      let value: number | undefined;
      if (pick === "tps") value = message.data.tps;
      else if (via === "websocket" && !snapshot) {
        // Lateness has a meaning for pushed messages only: a poll reads them later by design.
        const clock = client.clock(endpoint);
        const due = clock ? dueAt(clock, message.time) : undefined;
        if (due !== undefined) value = Math.max(0, Date.now() - due);
      }
      snapshot = false;
      if (value !== undefined) setSeries((s) => [...s.slice(-(POINTS - 1)), value]);
    });
    return () => {
      offWelcome();
      offMessage();
    };
  }, [client, pick]);
  return series;
}

export function Sparkline(props: { title: string; unit: string; values: number[]; testId: string }) {
  const { values } = props;
  const width = 240;
  const height = 56;
  const max = Math.max(1, ...values);
  const points = values
    .map((v, i) => `${((i / Math.max(1, POINTS - 1)) * width).toFixed(1)},${(height - (v / max) * (height - 4) - 2).toFixed(1)}`)
    .join(" ");
  const last = values.at(-1);
  return (
    <figure className="chart" data-testid={props.testId} data-points={values.length}>
      <figcaption>
        {props.title}{" "}
        <span className="value">{last === undefined ? "—" : `${last.toFixed(props.unit === "ms" ? 0 : 1)} ${props.unit}`}</span>
      </figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} width={width} height={height} role="img" aria-label={props.title}>
        <polyline points={points} fill="none" stroke="currentColor" strokeWidth="1.5" />
      </svg>
    </figure>
  );
}
