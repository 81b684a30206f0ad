-- wrk reporter for scripts/bench.sh: one machine-readable line per run.
-- RESULT <requests/s> <p50 µs> <p99 µs> <p99.9 µs> <non-2xx/3xx responses> <socket errors>
done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format("RESULT %.0f %d %d %d %d %d\n",
    summary.requests / seconds,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9),
    e.status, e.connect + e.read + e.write + e.timeout))
end
