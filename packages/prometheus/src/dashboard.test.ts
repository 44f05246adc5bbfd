import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PrometheusMetricName } from './instrument';

/** The Grafana dashboard in docs/ is built on this package's metrics: it must not name one that does not exist. */
describe('docs/grafana/toolkit-dashboard.json', () => {
  const dashboard = JSON.parse(readFileSync(join(__dirname, '../../../docs/grafana/toolkit-dashboard.json'), 'utf8')) as {
    panels: Array<{ type: string; title: string; targets?: Array<{ expr: string }> }>;
  };
  const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));

  it('queries only metrics that instrument() registers, and every one of them', () => {
    const used = new Set(exprs.flatMap((e) => [...e.matchAll(/\btoolkit_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, ''))));
    expect([...used].sort()).toEqual(Object.values(PrometheusMetricName).sort());
  });

  it('groups and filters only by the labels the metrics have', () => {
    const labels = new Set(exprs.flatMap((e) => [...e.matchAll(/by \(([^)]*)\)|[{,]\s*([a-z_]+)\s*=~?"/g)].flatMap((m) => (m[1] ?? m[2] ?? '').split(/,\s*/))));
    expect([...labels].sort()).toEqual(['breaker', 'error_type', 'function', 'kind', 'le', 'operation', 'outcome', 'reason', 'result', 'scope', 'state']);
  });
});
