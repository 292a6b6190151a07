/**
 * A self-contained SVG of one engine's rotation drill: one panel per contender, queries ok (up) and
 * failed (down) per time bucket, the rotation steps as vertical lines and the contender's
 * GetSecretValue calls as ticks. No scripts, no external fonts or images: any SVG viewer renders it.
 */

/** What the drill records per contender over its run (times in ms since the load started). */
export interface DrillTimeline {
  bucketMs: number;
  /** Queries that finished ok / failed in each bucket (killed sessions are not counted as failed). */
  ok: number[];
  failed: number[];
  /** Rotation protocol steps as they started. */
  steps: { step: string; atMs: number }[];
  /** The contender's GetSecretValue calls (sampled every few ms). */
  getSecretValue: number[];
  durationMs: number;
}

export interface ChartContender {
  label: string;
  timeline: DrillTimeline;
  /** Shown after the label, e.g. "ok 2690 · failed 0 · GetSecretValue 7". */
  summary?: string;
}

export interface ChartInput {
  title: string;
  subtitle?: string;
  contenders: ChartContender[];
}

/** The steps drawn, with their colour and dash pattern (testSecret is not drawn: it changes nothing). */
export const STEP_STYLES: Record<string, { color: string; dash: string }> = {
  createSecret: { color: '#7f7f7f', dash: '2 3' },
  setSecret: { color: '#e08a00', dash: '' },
  finishSecret: { color: '#6a3d9a', dash: '6 3' },
};
const OK_COLOR = '#2b8a3e';
const FAILED_COLOR = '#d62728';
const GSV_COLOR = '#1f4e9c';

const WIDTH = 1000;
const LEFT = 170;
const RIGHT = 20;
const TOP = 78;
const PANEL_H = 104;
const PANEL_GAP = 22;
const BOTTOM = 46;
/** Height of the strip above each panel's plot where GetSecretValue ticks go. */
const TICK_STRIP = 12;

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

const n1 = (x: number) => (Math.round(x * 10) / 10).toString();

/** A "nice" axis maximum ≥ x: 1, 2, 5 × 10^k. */
function niceMax(x: number): number {
  if (x <= 1) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 1.5, 2, 3, 4, 5, 6, 8, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

function bars(values: number[], x0: number, bw: number, base: number, scale: number, dir: 1 | -1): string {
  let d = '';
  values.forEach((v, i) => {
    if (v <= 0) return;
    const h = Math.max(1, v * scale);
    const x = x0 + i * bw;
    d += `M${n1(x)} ${n1(base)}h${n1(Math.max(bw - 0.6, 0.6))}v${n1(-dir * h)}h${n1(-Math.max(bw - 0.6, 0.6))}Z`;
  });
  return d;
}

/** Renders the chart. Every contender shares the time axis and the per-bucket scale. */
export function renderDrillChart(input: ChartInput): string {
  const cs = input.contenders;
  const bucketMs = cs[0]?.timeline.bucketMs ?? 100;
  const durationMs = Math.max(1, ...cs.map((c) => c.timeline.durationMs));
  const plotW = WIDTH - LEFT - RIGHT;
  const xOf = (ms: number) => LEFT + (Math.min(ms, durationMs) / durationMs) * plotW;
  const bw = (bucketMs / durationMs) * plotW;
  const okMax = niceMax(Math.max(1, ...cs.flatMap((c) => c.timeline.ok)));
  const failedMax = Math.max(0, ...cs.flatMap((c) => c.timeline.failed));
  // ok gets the upper 60 % of the plot, failed the lower 40 %, on one scale (queries per bucket).
  const plotH = PANEL_H - TICK_STRIP;
  const upH = plotH * 0.6;
  const failedNice = niceMax(Math.max(1, failedMax));
  const scale = Math.min(upH / okMax, (plotH - upH - 4) / failedNice);
  const height = TOP + cs.length * (PANEL_H + PANEL_GAP) - PANEL_GAP + BOTTOM;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" ` +
      'font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">',
  );
  out.push(`<title>${escapeXml(input.title)}</title>`);
  out.push(`<rect class="background" x="0" y="0" width="${WIDTH}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text class="title" x="${LEFT}" y="22" font-size="16" font-weight="bold">${escapeXml(input.title)}</text>`);
  if (input.subtitle) {
    out.push(`<text class="subtitle" x="${LEFT}" y="40" fill="#444">${escapeXml(input.subtitle)}</text>`);
  }
  // Legend.
  const legend: string[] = [];
  let lx = LEFT;
  const ly = 60;
  const item = (swatch: string, label: string) => {
    legend.push(swatch.replaceAll('{x}', String(lx)), `<text x="${lx + 22}" y="${ly + 4}">${escapeXml(label)}</text>`);
    lx += 30 + label.length * 7;
  };
  item(`<rect x="{x}" y="${ly - 5}" width="16" height="10" fill="${OK_COLOR}"/>`, `ok per ${bucketMs} ms`);
  item(`<rect x="{x}" y="${ly - 5}" width="16" height="10" fill="${FAILED_COLOR}"/>`, `failed per ${bucketMs} ms`);
  for (const [step, st] of Object.entries(STEP_STYLES)) {
    item(
      `<line x1="{x}" x2="{x}" y1="${ly - 7}" y2="${ly + 7}" stroke="${st.color}" stroke-width="2" stroke-dasharray="${st.dash}" transform="translate(8 0)"/>`,
      step,
    );
  }
  item(
    `<line x1="{x}" x2="{x}" y1="${ly - 6}" y2="${ly + 4}" stroke="${GSV_COLOR}" stroke-width="1.5" transform="translate(8 0)"/>`,
    'GetSecretValue call',
  );
  out.push(`<g class="legend">${legend.join('')}</g>`);

  const axisTicks: number[] = [];
  const stepS = durationMs > 30_000 ? 5 : durationMs > 12_000 ? 2 : 1;
  for (let s = 0; s * 1000 <= durationMs; s += stepS) axisTicks.push(s);

  cs.forEach((c, i) => {
    const top = TOP + i * (PANEL_H + PANEL_GAP);
    const plotTop = top + TICK_STRIP;
    const base = plotTop + upH;
    const bottom = top + PANEL_H;
    const t = c.timeline;
    const g: string[] = [`<g class="panel" data-contender="${escapeXml(c.label)}">`];
    g.push(`<rect x="${LEFT}" y="${plotTop}" width="${plotW}" height="${plotH}" fill="#f7f7f7" stroke="#ddd"/>`);
    for (const s of axisTicks) {
      const x = n1(xOf(s * 1000));
      g.push(`<line x1="${x}" x2="${x}" y1="${plotTop}" y2="${bottom}" stroke="#e4e4e4"/>`);
    }
    g.push(
      `<text class="label" x="${LEFT - 8}" y="${top + 24}" text-anchor="end" font-weight="bold">${escapeXml(c.label)}</text>`,
    );
    if (c.summary) {
      const parts = c.summary.split(' · ');
      parts.forEach((p, j) => {
        g.push(
          `<text class="summary" x="${LEFT - 8}" y="${top + 42 + j * 15}" text-anchor="end" fill="#444" font-size="11">${escapeXml(p)}</text>`,
        );
      });
    }
    g.push(`<path class="ok" fill="${OK_COLOR}" d="${bars(t.ok, LEFT, bw, base, scale, 1)}"/>`);
    g.push(`<path class="failed" fill="${FAILED_COLOR}" d="${bars(t.failed, LEFT, bw, base, scale, -1)}"/>`);
    g.push(`<line x1="${LEFT}" x2="${LEFT + plotW}" y1="${n1(base)}" y2="${n1(base)}" stroke="#999"/>`);
    // y scale: a reference line and its value above (ok) and below (failed) the baseline.
    const refs: Array<[number, string]> = [[base - okMax * scale, `↑ ${okMax} ok`]];
    if (failedMax > 0) refs.push([base + failedNice * scale, `↓ ${failedNice} failed`]);
    for (const [y, label] of refs) {
      g.push(
        `<line x1="${LEFT}" x2="${LEFT + plotW}" y1="${n1(y)}" y2="${n1(y)}" stroke="#bbb" stroke-dasharray="1 2"/>`,
      );
      g.push(
        `<text class="yaxis" x="${LEFT + plotW - 4}" y="${n1(y - 2)}" text-anchor="end" fill="#555" font-size="10">${label}</text>`,
      );
    }
    for (const s of t.steps) {
      const st = STEP_STYLES[s.step];
      if (!st) continue;
      const x = n1(xOf(s.atMs));
      g.push(
        `<line class="step ${s.step}" x1="${x}" x2="${x}" y1="${plotTop}" y2="${bottom}" stroke="${st.color}" stroke-width="1.6" stroke-dasharray="${st.dash}"/>`,
      );
    }
    const ticks = t.getSecretValue.map((ms) => `M${n1(xOf(ms))} ${top + 1}v${TICK_STRIP - 2}`).join('');
    g.push(`<path class="gsv" stroke="${GSV_COLOR}" stroke-width="1.2" fill="none" d="${ticks}"/>`);
    g.push('</g>');
    out.push(g.join(''));
  });
  const axisY = TOP + cs.length * (PANEL_H + PANEL_GAP) - PANEL_GAP;
  const axis: string[] = ['<g class="xaxis">'];
  for (const s of axisTicks) {
    const x = n1(xOf(s * 1000));
    axis.push(`<line x1="${x}" x2="${x}" y1="${axisY}" y2="${axisY + 5}" stroke="#555"/>`);
    axis.push(`<text x="${x}" y="${axisY + 18}" text-anchor="middle">${s}</text>`);
  }
  axis.push(
    `<text x="${LEFT + plotW / 2}" y="${axisY + 38}" text-anchor="middle">seconds since the load started</text></g>`,
  );
  out.push(axis.join(''));
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
