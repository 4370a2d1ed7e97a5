// panels.tsx: the six live panels, each one `useStream` call. Every value carries the seq of
// the message it comes from (data-seq) and its field name (data-field), so that a test can hold
// what is on screen against the stream or a recording.
import type { ReactNode } from "react";
import type { DataMessage, StreamClient } from "../src/index.js";
import { useStream } from "../src/react.js";

type Of<T extends DataMessage["type"]> = Extract<DataMessage, { type: T }>;

function Panel(props: { id: string; title: string; seq?: number | undefined; children: ReactNode }) {
  return (
    <section className="panel" data-testid={`panel-${props.id}`} data-seq={props.seq}>
      <h2>{props.title}</h2>
      {props.children}
    </section>
  );
}

function Field(props: { name: string; value: string | number; label: string }) {
  return (
    <div className="field">
      <span className="label">{props.label}</span>
      <span className="value" data-field={props.name}>
        {props.value}
      </span>
    </div>
  );
}

const num = (n: number, digits = 0) => n.toFixed(digits);
const byId = (a: string, b: string) => a.localeCompare(b, "en", { numeric: true });

// One column of a table panel: its heading, the data field it shows (data-field, for tests),
// and how the value reads.
interface Column<M extends DataMessage> {
  label: string;
  field?: string;
  show: (m: M) => string | number;
  tone?: boolean; // coloured by its value (status, health)
}

function Table<M extends DataMessage>(props: { rows: M[]; columns: Column<M>[] }) {
  return (
    <table>
      <thead>
        <tr>
          {props.columns.map((c) => (
            <th key={c.label}>{c.label}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {props.rows.map((m) => (
          <tr key={`${m.channel}-${m.seq}`} data-channel={m.channel} data-seq={m.seq}>
            {props.columns.map((c) => (
              <td key={c.label} data-field={c.field} className={c.tone ? String(c.show(m)) : undefined}>
                {c.show(m)}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const CHANNEL_COLUMNS: Column<Of<"channel_update">>[] = [
  { label: "channel", show: (m) => m.channel },
  { label: "height", field: "blockHeight", show: (m) => m.data.blockHeight },
  { label: "TPS", field: "tps", show: (m) => num(m.data.tps, 1) },
  { label: "pending", field: "pendingTx", show: (m) => m.data.pendingTx },
  { label: "latency ms", field: "avgLatencyMs", show: (m) => num(m.data.avgLatencyMs) },
  { label: "status", field: "status", show: (m) => m.data.status, tone: true },
];

const TRANSACTION_COLUMNS: Column<Of<"transaction">>[] = [
  { label: "id", field: "id", show: (m) => m.data.id.slice(0, 10) },
  { label: "channel", show: (m) => m.channel },
  { label: "amount", field: "amount", show: (m) => m.data.amount },
  { label: "fee", field: "fee", show: (m) => m.data.fee },
  { label: "block", field: "blockHeight", show: (m) => m.data.blockHeight },
];

const VALIDATOR_COLUMNS: Column<Of<"validator_update">>[] = [
  { label: "id", show: (m) => m.data.id },
  { label: "status", field: "status", show: (m) => m.data.status, tone: true },
  { label: "stake", field: "stake", show: (m) => m.data.stake },
  { label: "power", field: "votingPower", show: (m) => m.data.votingPower },
  { label: "uptime", field: "uptime", show: (m) => m.data.uptime },
  { label: "missed", field: "missedBlocks", show: (m) => m.data.missedBlocks },
];

// The latest state of every channel of an endpoint, one row each, in channel order.
function StatesPanel<M extends DataMessage>(props: {
  client: StreamClient | undefined;
  endpoint: "/ws/channels" | "/ws/validators";
  type: M["type"];
  title: string;
  columns: Column<M>[];
}) {
  const { latest } = useStream(props.client, props.endpoint);
  const rows = Object.values(latest).filter((m): m is M => m.type === props.type);
  return (
    <Panel id={props.endpoint.slice(4)} title={props.title}>
      <Table rows={rows.sort((a, b) => byId(a.channel, b.channel))} columns={props.columns} />
    </Panel>
  );
}

export const ChannelsPanel = ({ client }: { client: StreamClient | undefined }) => (
  <StatesPanel client={client} endpoint="/ws/channels" type="channel_update" title="Channels" columns={CHANNEL_COLUMNS} />
);
export const ValidatorsPanel = ({ client }: { client: StreamClient | undefined }) => (
  <StatesPanel client={client} endpoint="/ws/validators" type="validator_update" title="Validators" columns={VALIDATOR_COLUMNS} />
);

export function TransactionsPanel({ client }: { client: StreamClient | undefined }) {
  const { recent } = useStream(client, "/ws/transactions", { keep: 12 });
  const rows = recent.filter((m): m is Of<"transaction"> => m.type === "transaction");
  return (
    <Panel id="transactions" title="Transactions">
      <Table rows={rows} columns={TRANSACTION_COLUMNS} />
    </Panel>
  );
}

// A single-channel endpoint's latest state as labelled fields (the Column spec of the tables).
function FieldsPanel<M extends DataMessage>(props: {
  client: StreamClient | undefined;
  endpoint: "/ws/consensus" | "/ws/network" | "/ws/metrics";
  title: string;
  fields: Column<M>[];
}) {
  const channel = props.endpoint.slice(4);
  const m = useStream(props.client, props.endpoint).latest[channel] as M | undefined;
  return (
    <Panel id={channel} title={props.title} seq={m?.seq}>
      {m && (
        <div className="fields">
          {props.fields.map((f) => (
            <Field key={f.label} name={f.field ?? f.label} label={f.label} value={f.show(m)} />
          ))}
        </div>
      )}
    </Panel>
  );
}

const CONSENSUS_FIELDS: Column<Of<"consensus_update">>[] = [
  { label: "phase", field: "phase", show: (m) => m.data.phase },
  { label: "leader", field: "leader", show: (m) => m.data.leader },
  { label: "height", field: "height", show: (m) => m.data.height },
  { label: "round", field: "round", show: (m) => m.data.round },
  { label: "votes / quorum", field: "votes", show: (m) => `${m.data.votes} / ${m.data.quorum}` },
];

const NETWORK_FIELDS: Column<Of<"network_status">>[] = [
  { label: "health", field: "health", show: (m) => m.data.health },
  { label: "peers", field: "peers", show: (m) => m.data.peers },
  { label: "latency ms", field: "avgLatencyMs", show: (m) => num(m.data.avgLatencyMs, 1) },
  { label: "in kbps", field: "inboundKbps", show: (m) => num(m.data.inboundKbps, 1) },
  { label: "out kbps", field: "outboundKbps", show: (m) => num(m.data.outboundKbps, 1) },
];

const METRICS_FIELDS: Column<Of<"metrics">>[] = [
  { label: "TPS", field: "tps", show: (m) => num(m.data.tps, 1) },
  { label: "transactions", field: "txTotal", show: (m) => m.data.txTotal },
  { label: "blocks", field: "blockHeight", show: (m) => m.data.blockHeight },
  { label: "CPU %", field: "cpuPercent", show: (m) => num(m.data.cpuPercent, 1) },
  { label: "memory MB", field: "memoryMb", show: (m) => num(m.data.memoryMb) },
];

export const ConsensusPanel = ({ client }: { client: StreamClient | undefined }) => (
  <FieldsPanel client={client} endpoint="/ws/consensus" title="Consensus" fields={CONSENSUS_FIELDS} />
);
export const NetworkPanel = ({ client }: { client: StreamClient | undefined }) => (
  <FieldsPanel client={client} endpoint="/ws/network" title="Network" fields={NETWORK_FIELDS} />
);
export const MetricsPanel = ({ client }: { client: StreamClient | undefined }) => (
  <FieldsPanel client={client} endpoint="/ws/metrics" title="Metrics" fields={METRICS_FIELDS} />
);
