import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { histogramQuantile, parsePrometheusText, sampleValue } from '../tools/bench/prometheus-text.js';

test('parses what prom-client writes, labels and histograms included', async () => {
  const registry = new Registry();
  const counter = new Counter({ name: 'x_total', help: 'h', labelNames: ['reason'], registers: [registry] });
  counter.inc({ reason: 'a "quoted" one' }, 3);
  const histogram = new Histogram({ name: 'lat_seconds', help: 'h', buckets: [1, 2, 4], registers: [registry] });
  for (const v of [0.5, 1.5, 1.5, 3]) histogram.observe(v);
  const samples = parsePrometheusText(await registry.metrics());
  assert.equal(sampleValue(samples, 'x_total', { reason: 'a "quoted" one' }), 3);
  assert.equal(sampleValue(samples, 'lat_seconds_count'), 4);
  assert.equal(histogramQuantile(samples, 'lat_seconds', 0.5), 1.5);
  assert.equal(histogramQuantile(samples, 'lat_seconds', 1), 4);
});

test('rejects text that is not the exposition format', () => {
  assert.throws(() => parsePrometheusText('<html>oops</html>'), /not Prometheus text format/);
});
