# due_to_hub.py: the streambed_due_to_hub_seconds histogram of two scrapes of a node's /q/metrics
# (its _bucket lines; other lines are passed over), for bench_cluster.sh and bench_hop.sh.
import re

_BUCKET = re.compile(
    r'streambed_due_to_hub_seconds_bucket\{endpoint="([^"]+)",le="([^"]+)"\} (\d+)')


def read_series(lines):
    """Cumulative counts by bound (ms, inf last) for each endpoint and for "all" of them."""
    series = {}
    for text in lines:
        m = _BUCKET.match(text)
        if not m:
            continue
        bound = float("inf") if m.group(2) == "+Inf" else float(m.group(2)) * 1000
        for key in (m.group(1), "all"):
            counts = series.setdefault(key, {})
            counts[bound] = counts.get(bound, 0) + int(m.group(3))
    return series


def quantiles(before, after, key, ps=(0.5, 0.99)):
    """(messages, [ms at each p]) in the window between the scrapes, interpolated within a
    bucket; inf when a quantile falls past the last bound."""
    at_start = before.get(key, {})
    cum = [(b, c - at_start.get(b, 0)) for b, c in sorted(after[key].items())]
    total = cum[-1][1]
    out = []
    for p in ps:
        low, below = 0.0, 0
        for bound, c in cum:
            if c >= p * total:
                out.append(float("inf") if bound == float("inf") else
                           low + (bound - low) * (p * total - below) / max(1, c - below))
                break
            low, below = bound, c
        else:
            out.append(float("nan"))
    return total, out
