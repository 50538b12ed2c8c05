// HTTP load with autocannon. Latencies are kept exactly (autocannon's own histogram rounds to
// whole milliseconds, too coarse for p50s under 1 ms and for p99 ratios).
import autocannon from 'autocannon';
import { quantile, round } from './stats.mjs';

/**
 * Runs `connections` keep-alive connections against `url` for `seconds`. Returns the raw run:
 * { latencies, seconds, ok, errors }; `errors` counts connection errors, timeouts and non-2xx
 * answers together: any of them is a failure.
 *
 * With `overallRate` (requests/s) the load is a fixed offered rate instead of "as fast as
 * possible". A connection then waits for its answer before sending the next request, so a stall
 * would also delay requests that were due meanwhile; their latency is counted as if they had been
 * sent on time (the coordinated-omission correction of HdrHistogram), so stalls are not hidden.
 */
export async function measure(url, { connections = 16, seconds = 10, overallRate } = {}) {
  const latencies = [];
  const interval = overallRate ? (1000 * connections) / overallRate : Infinity;
  let answered = 0;
  let ok = 0;
  const instance = autocannon({
    url,
    connections,
    duration: seconds,
    timeout: 10,
    ...(overallRate ? { overallRate } : {}),
  });
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    answered++;
    latencies.push(responseTime);
    for (let missed = responseTime - interval; missed > 0; missed -= interval) latencies.push(missed);
    if (statusCode >= 200 && statusCode < 300) ok++;
  });
  const result = await instance;
  return {
    latencies,
    seconds: result.duration || seconds,
    requests: answered,
    ok,
    errors: result.errors + result.timeouts + (answered - ok),
  };
}

/** Req/s, p50, p99, max and errors of one or more runs (their latencies pooled). */
export function summarize(runs) {
  const all = [runs].flat();
  const latencies = all.flatMap((r) => r.latencies);
  const requests = all.reduce((n, r) => n + r.requests, 0);
  return {
    requests,
    rps: Math.round(requests / all.reduce((s, r) => s + r.seconds, 0)),
    p50_ms: round(quantile(latencies, 0.5)),
    p99_ms: round(quantile(latencies, 0.99)),
    max_ms: round(quantile(latencies, 1)),
    ok: all.reduce((n, r) => n + r.ok, 0),
    errors: all.reduce((n, r) => n + r.errors, 0),
  };
}

/** A short unmeasured run so JIT, caches and connection pools are warm. */
export async function warmUp(url, seconds = 1) {
  await measure(url, { seconds });
}
