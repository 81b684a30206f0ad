-- wrk reporter for scripts/bench-neighbours.sh: latency of every answered request.
-- LATENCY <requests> <p50 µs> <p99 µs> <max µs> <non-2xx/3xx responses> <socket errors>
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("LATENCY %d %d %d %d %d %d\n",
    summary.requests, latency:percentile(50), latency:percentile(99), latency.max,
    e.status, e.connect + e.read + e.write + e.timeout))
end
