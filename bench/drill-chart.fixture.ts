/** Synthetic drill timelines for the chart's test (and for looking at the chart without a drill run). */
import type { DrillTimeline } from './drill-chart.js';

/** 10 s in 100 ms buckets; `failing` contenders fail from each setSecret until 2 s later. */
export function syntheticTimeline(failing: boolean): DrillTimeline {
  const buckets = 100;
  const steps = [1000, 5000].flatMap((t) => [
    { step: 'createSecret', atMs: t },
    { step: 'setSecret', atMs: t + 50 },
    { step: 'testSecret', atMs: t + 1050 },
    { step: 'finishSecret', atMs: t + 1100 },
  ]);
  const inWindow = (i: number) => failing && [1000, 5000].some((t) => i * 100 >= t + 50 && i * 100 < t + 2050);
  return {
    bucketMs: 100,
    ok: Array.from({ length: buckets }, (_, i) => (inWindow(i) ? 3 : 40 + (i % 7))),
    failed: Array.from({ length: buckets }, (_, i) => (inWindow(i) ? 25 : 0)),
    steps,
    getSecretValue: failing ? [0, 1100, 1150, 5100] : [0, 1060, 1070, 5060, 5070],
    durationMs: buckets * 100,
  };
}
