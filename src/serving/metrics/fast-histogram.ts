// A histogram with one label (the deployment, unless told otherwise), for the hot path: `observe` is a bucket search and two
// additions (no label hashing, no validation, no allocation); prom-client reads it at scrape time
// through the Metric interface, so the exposition is the same as a prom-client Histogram's.

import type { MetricObjectWithValues, MetricValueWithName, Registry } from "prom-client";

interface Series {
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

export class FastHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = "histogram" as const;
  readonly aggregator = "sum" as const;
  readonly #bounds: readonly number[];
  readonly #series = new Map<string, Series>();
  /** The one label's name. */
  readonly #label: string;

  constructor(options: {
    name: string;
    help: string;
    buckets: readonly number[];
    registers: readonly Registry[];
    /** Default "deployment". */
    label?: string;
  }) {
    this.name = options.name;
    this.#label = options.label ?? "deployment";
    this.help = options.help;
    this.#bounds = [...options.buckets].sort((a, b) => a - b);
    for (const registry of options.registers) {
      registry.registerMetric(this as unknown as Parameters<Registry["registerMetric"]>[0]);
    }
  }

  observe(deployment: string, value: number): void {
    let series = this.#series.get(deployment);
    if (!series) {
      series = { counts: new Float64Array(this.#bounds.length), sum: 0, count: 0 };
      this.#series.set(deployment, series);
    }
    const bounds = this.#bounds;
    let low = 0;
    let high = bounds.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((bounds[middle] as number) < value) low = middle + 1;
      else high = middle;
    }
    if (low < bounds.length) series.counts[low] = (series.counts[low] as number) + 1;
    series.sum += value;
    series.count++;
  }

  /** Called by the registry at scrape time (prom-client's Metric interface). */
  async get(): Promise<MetricObjectWithValues<MetricValueWithName<string>>> {
    const values: MetricValueWithName<string>[] = [];
    for (const [deployment, series] of this.#series) {
      let cumulative = 0;
      this.#bounds.forEach((bound, index) => {
        cumulative += series.counts[index] as number;
        values.push({
          labels: { [this.#label]: deployment, le: bound },
          value: cumulative,
          metricName: `${this.name}_bucket`,
        });
      });
      values.push({
        labels: { [this.#label]: deployment, le: "+Inf" },
        value: series.count,
        metricName: `${this.name}_bucket`,
      });
      values.push({
        labels: { [this.#label]: deployment },
        value: series.sum,
        metricName: `${this.name}_sum`,
      });
      values.push({
        labels: { [this.#label]: deployment },
        value: series.count,
        metricName: `${this.name}_count`,
      });
    }
    const metric = { name: this.name, help: this.help, type: "histogram", values, aggregator: "sum" };
    return metric as unknown as MetricObjectWithValues<MetricValueWithName<string>>;
  }

  reset(): void {
    this.#series.clear();
  }
}
