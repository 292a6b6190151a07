/** The drill chart renderer on synthetic data: the SVG is well-formed XML with the expected elements. */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { type ChartContender, renderDrillChart } from './drill-chart.js';
import { syntheticTimeline } from './drill-chart.fixture.js';

const contenders: ChartContender[] = [
  { label: 'naive <secret read once>', timeline: syntheticTimeline(true), summary: 'ok 300 · failed 1000 · GSV 0' },
  { label: 'dbcreds', timeline: syntheticTimeline(false), summary: 'ok 4000 · failed 0 · GSV 5' },
];

describe('renderDrillChart', () => {
  const svg = renderDrillChart({ title: 'Rotation drill & PostgreSQL', subtitle: '2 rotations', contenders });

  it('produces well-formed XML (special characters escaped)', () => {
    expect(XMLValidator.validate(svg)).toBe(true);
  });

  it('has one panel per contender with ok/failed bars, step lines and GetSecretValue ticks', () => {
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', htmlEntities: true }).parse(svg);
    const root = doc.svg;
    expect(root.xmlns).toBe('http://www.w3.org/2000/svg');
    expect(Number(root.width)).toBeGreaterThan(0);
    expect(root.title).toBe('Rotation drill & PostgreSQL');
    const panels = [root.g].flat().filter((g: { class: string }) => g.class === 'panel');
    expect(panels.map((p: Record<string, string>) => p['data-contender'])).toEqual([
      'naive <secret read once>',
      'dbcreds',
    ]);
    const paths = (p: { path: Array<Record<string, string>> }, cls: string): string =>
      p.path.find((x) => x.class === cls)?.d ?? 'missing';
    const [naive, dbcreds] = panels as [any, any];
    expect(paths(naive, 'failed')).toMatch(/^M/);
    expect(paths(dbcreds, 'failed')).toBe(''); // no failed bar
    expect(paths(dbcreds, 'ok').match(/M/g)).toHaveLength(100); // one bar per bucket
    expect(paths(dbcreds, 'gsv').match(/M/g)).toHaveLength(5);
    const stepLines = [naive.line].flat().filter((l: { class?: string }) => l.class?.startsWith('step '));
    // createSecret, setSecret, finishSecret per rotation; testSecret is not drawn
    expect(stepLines.map((l: { class: string }) => l.class)).toEqual([
      'step createSecret',
      'step setSecret',
      'step finishSecret',
      'step createSecret',
      'step setSecret',
      'step finishSecret',
    ]);
  });

  it('has a legend and a labelled time axis', () => {
    expect(svg).toContain('failed per 100 ms');
    expect(svg).toContain('GetSecretValue call');
    expect(svg).toContain('seconds since the load started');
    expect(svg).not.toMatch(/<script|href=|@import|url\(/);
  });
});
