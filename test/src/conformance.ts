export const SCENARIOS = [] as const;
export function runConformanceSuite(): void {}
export type ConformanceClient = unknown;
export type ConformanceContext = unknown;
export type ConformanceSuiteOptions = unknown;
