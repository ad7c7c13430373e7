// HTTP load from autocannon in this process, and a table cell: a warm-up, then the measurement.

import autocannon from "autocannon";
import { percentile, resetPeakRss, vmKib } from "./measure.js";
import { assertRunning } from "./processes.js";

/**
 * autocannon against `url` for `seconds`: `connections` keep-alive connections, one request in
 * flight on each. Latencies are recorded here from each 2xx response (full precision, in ms).
 * `sample()` runs just before the load (the /proc readings before) and returns a function that
 * runs just after it with { elapsed (s), ok, ownCpu }, whose fields join the result. Every one of
 * `processes` must be running before and after.
 */
export function autocannonLoad({ url, body, connections, seconds, processes, sample }) {
  for (const server of processes) assertRunning(server);
  return new Promise((resolve, reject) => {
    const latencies = [];
    let ok = 0;
    let failed = 0;
    const finish = sample();
    const ownCpuBefore = process.cpuUsage();
    const start = process.hrtime.bigint();
    const instance = autocannon(
      {
        url,
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        connections,
        pipelining: 1,
        duration: seconds,
        timeout: 10,
      },
      (error, result) => {
        const end = process.hrtime.bigint();
        const elapsed = Number(end - start) / 1e9;
        const ownCpu = process.cpuUsage(ownCpuBefore);
        if (error) {
          reject(error);
          return;
        }
        try {
          for (const server of processes) assertRunning(server);
          const readings = finish({ elapsed, ok, ownCpu });
          latencies.sort((a, b) => a - b);
          resolve({
            requests: ok,
            failed: failed + result.errors + result.timeouts,
            rps: ok / elapsed,
            p50: percentile(latencies, 0.5),
            p99: percentile(latencies, 0.99),
            // This process (autocannon), in % of one CPU: near 100 % means the client is the limit.
            loadgenCpuPercent: (ownCpu.user + ownCpu.system) / 1e4 / elapsed,
            ...readings,
            // the measured interval on process.hrtime's monotonic clock, which CPU profiles share (µs)
            startUs: Number(start / 1000n),
            endUs: Number(end / 1000n),
          });
        } catch (failure) {
          reject(failure);
        }
      },
    );
    instance.on("response", (_client, statusCode, _bytes, responseTimeMs) => {
      if (statusCode >= 200 && statusCode < 300) {
        ok++;
        latencies.push(responseTimeMs);
      } else failed++;
    });
  });
}

/**
 * `run(warmupS)` when warmupS > 0, then `run(measureS)`'s result, with the peak RSS of process `pid`
 * over both (VmHWM reset before; NaN without a pid).
 */
export async function warmUpAndMeasure(run, { warmupS, measureS, pid }) {
  const peakReset = pid === undefined ? false : resetPeakRss(pid);
  if (warmupS > 0) await run(warmupS);
  const result = await run(measureS);
  result.peakRssKib = pid === undefined ? Number.NaN : vmKib(pid, "VmHWM");
  result.peakReset = peakReset;
  return result;
}
