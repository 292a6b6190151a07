import { invalidParameter } from './errors.js';
import type { RotationRulesInput } from './store.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** How far ahead a cron expression is searched for its next slot. */
const CRON_HORIZON_DAYS = 5 * 366;

/** A validated rotation schedule. Windows start at `next(base)` and last `windowMs`. */
export interface Schedule {
  /** Start of the first rotation window after `base` (epoch ms): the last rotation or configuration time. */
  next(base: number): number;
  /** Window length (Duration, or AWS's default for the schedule). */
  windowMs: number;
  /** The shortest gap between two windows; used to space retries of a failed scheduled rotation. */
  intervalMs: number;
}

export interface ScheduleOptions {
  allowShortRotationIntervals: boolean;
}

const bad = (message: string) => invalidParameter(message);

/**
 * Validates RotationRules with AWS's rules (rotation-protocol §1.9) and returns the schedule, or
 * `undefined` when the rules name no schedule. Throws InvalidParameterException.
 */
export function parseRotationRules(rules: RotationRulesInput, opts: ScheduleOptions): Schedule | undefined {
  const { AutomaticallyAfterDays: days, ScheduleExpression: expr, Duration: duration } = rules;
  if (days !== undefined && expr !== undefined) {
    throw bad('You cannot specify both rotation frequency and schedule expression together.');
  }
  const durationMs = duration === undefined ? undefined : parseDuration(duration);
  if (days !== undefined) {
    if (!Number.isInteger(days) || days < 1 || days > 1000) {
      throw bad('RotationRules.AutomaticallyAfterDays must be an integer within 1-1000.');
    }
    return dailySchedule(days, durationMs);
  }
  if (expr === undefined) {
    if (durationMs !== undefined)
      throw bad('RotationRules.Duration needs a ScheduleExpression or AutomaticallyAfterDays.');
    return undefined;
  }
  if (expr.length < 1 || expr.length > 256 || !/^[0-9A-Za-z()#?*\-/, ]+$/.test(expr)) {
    throw bad(`Invalid ScheduleExpression "${expr}": use rate(N hours|days) or cron(0 H DOM MON DOW *).`);
  }
  const rate = /^rate\(\s*(\d+)\s+([a-z]+)\s*\)$/i.exec(expr.trim());
  if (rate) return rateSchedule(expr, Number(rate[1]), rate[2]!.toLowerCase(), durationMs, opts);
  const cron = /^cron\((.*)\)$/i.exec(expr.trim());
  if (cron) return cronSchedule(expr, cron[1]!, durationMs, opts);
  throw bad(`Invalid ScheduleExpression "${expr}": use rate(N hours|days) or cron(0 H DOM MON DOW *).`);
}

function parseDuration(duration: string): number {
  const m = /^(\d{1,2})h$/.exec(duration);
  const hours = m ? Number(m[1]) : 0;
  if (!m || hours < 1) throw bad(`Invalid RotationRules.Duration "${duration}": use whole hours like "3h" (1h-24h).`);
  if (hours > 24)
    throw bad(`RotationRules.Duration "${duration}" is longer than a day; a window can't reach the next UTC day.`);
  return hours * HOUR;
}

const startOfDay = (ms: number): number => Math.floor(ms / DAY) * DAY;

function dailySchedule(days: number, durationMs: number | undefined): Schedule {
  // Windows open at midnight UTC and close after Duration or at the end of the day.
  return { next: (base) => startOfDay(base) + days * DAY, windowMs: durationMs ?? DAY, intervalMs: days * DAY };
}

function rateSchedule(
  expr: string,
  n: number,
  unit: string,
  durationMs: number | undefined,
  opts: ScheduleOptions,
): Schedule {
  const singular = unit.endsWith('s') ? unit.slice(0, -1) : unit;
  if (n < 1) throw bad(`Invalid ScheduleExpression "${expr}": the rate must be at least 1.`);
  if (singular === 'day') {
    if (n > 1000) throw bad(`Invalid ScheduleExpression "${expr}": the rate can be at most 1000 days.`);
    return dailySchedule(n, durationMs);
  }
  if (singular === 'hour') {
    if (n < 4 && !opts.allowShortRotationIntervals) {
      throw bad(`Invalid ScheduleExpression "${expr}": the minimum rotation rate is 4 hours.`);
    }
    if (n > 1000 * 24) throw bad(`Invalid ScheduleExpression "${expr}": the rate can be at most 1000 days.`);
    const interval = n * HOUR;
    if (durationMs !== undefined && durationMs > interval) {
      throw bad(`RotationRules.Duration must not be longer than the interval of "${expr}".`);
    }
    // Windows start on the hour; the default window closes after one hour.
    return {
      next: (base) => Math.floor(base / HOUR) * HOUR + interval,
      windowMs: durationMs ?? HOUR,
      intervalMs: interval,
    };
  }
  if (singular === 'minute' || singular === 'second') {
    if (!opts.allowShortRotationIntervals) {
      throw bad(
        `Invalid ScheduleExpression "${expr}": the minimum rotation rate is 4 hours ` +
          '(intervals in minutes or seconds need allowShortRotationIntervals, development only).',
      );
    }
    const interval = n * (singular === 'minute' ? MINUTE : SECOND);
    return { next: (base) => base + interval, windowMs: durationMs ?? interval, intervalMs: interval };
  }
  throw bad(`Invalid ScheduleExpression "${expr}": the unit must be hours or days.`);
}

// ---- cron(Minutes Hours Day-of-month Month Day-of-week Year), UTC ----------------------------------

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface DayRule {
  /** Does the rule match this UTC day? */
  matches(year: number, month: number, dom: number, dow: number): boolean;
}

function cronSchedule(expr: string, body: string, durationMs: number | undefined, opts: ScheduleOptions): Schedule {
  const fields = body.trim().split(/\s+/);
  const fail = (why: string) => bad(`Invalid ScheduleExpression "${expr}": ${why}.`);
  if (fields.length !== 6)
    throw fail('a cron expression has six fields: Minutes Hours Day-of-month Month Day-of-week Year');
  const [minF, hourF, domF, monF, dowF, yearF] = fields as [string, string, string, string, string, string];
  let minutes: number[];
  if (opts.allowShortRotationIntervals) minutes = parseList(minF, 0, 59, {}, fail, 'Minutes');
  else if (minF !== '0') throw fail('Minutes must be 0 (rotation windows start on the hour)');
  else minutes = [0];
  const hours = parseList(hourF, 0, 23, {}, fail, 'Hours');
  const months = new Set(parseList(monF, 1, 12, { names: MONTHS, base: 1 }, fail, 'Month'));
  if (yearF !== '*') throw fail('Year must be *');
  if ((domF === '?') === (dowF === '?')) throw fail('exactly one of Day-of-month and Day-of-week must be ?');
  const dayRule = domF === '?' ? parseDow(dowF, fail) : parseDom(domF, fail);

  // Window: Duration, else 1 h for several slots a day and the rest of the UTC day for one slot.
  const slotsPerDay = hours.length * minutes.length;
  const lastHour = hours[hours.length - 1]!;
  let windowMs = durationMs ?? (slotsPerDay > 1 ? HOUR : (24 - lastHour) * HOUR);
  if (opts.allowShortRotationIntervals && durationMs === undefined && minutes.length > 1) windowMs = MINUTE;
  const slots = hours.flatMap((h) => minutes.map((m) => h * HOUR + m * MINUTE));
  let minGap = DAY;
  for (let i = 1; i < slots.length; i++) minGap = Math.min(minGap, slots[i]! - slots[i - 1]!);
  if (durationMs !== undefined) {
    if (durationMs > minGap) throw bad('RotationRules.Duration must not reach the next rotation window.');
    if (lastHour * HOUR + durationMs > DAY) throw bad('RotationRules.Duration must not reach the next UTC day.');
  }

  const next = (base: number): number => {
    const firstDay = startOfDay(base);
    for (let d = 0; d <= CRON_HORIZON_DAYS; d++) {
      const day = firstDay + d * DAY;
      const date = new Date(day);
      const month = date.getUTCMonth() + 1;
      if (!months.has(month)) continue;
      if (!dayRule.matches(date.getUTCFullYear(), month, date.getUTCDate(), date.getUTCDay() + 1)) continue;
      for (const offset of slots) if (day + offset > base) return day + offset;
    }
    return Number.POSITIVE_INFINITY;
  };
  if (!Number.isFinite(next(0)) && !Number.isFinite(next(Date.UTC(2030, 0, 1)))) {
    throw fail('it never matches a date');
  }
  return { next, windowMs, intervalMs: minGap };
}

interface NameTable {
  names?: string[];
  base?: number;
}

/** `*`, `n`, `a-b`, `x/step` and comma lists, values in [min, max]. */
function parseList(
  field: string,
  min: number,
  max: number,
  table: NameTable,
  fail: (why: string) => Error,
  label: string,
): number[] {
  const value = (raw: string): number => {
    const upper = raw.toUpperCase();
    const named = table.names?.indexOf(upper) ?? -1;
    const n = named >= 0 ? named + (table.base ?? 0) : /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isInteger(n) || n < min || n > max) throw fail(`${label} value "${raw}" is not within ${min}-${max}`);
    return n;
  };
  const out = new Set<number>();
  for (const part of field.split(',')) {
    const [range, stepRaw] = part.split('/') as [string, string | undefined];
    const step = stepRaw === undefined ? 1 : Number(stepRaw);
    if (!Number.isInteger(step) || step < 1) throw fail(`${label} step "${stepRaw}" must be a positive integer`);
    let lo: number;
    let hi: number;
    if (range === '*') [lo, hi] = [min, max];
    else if (range.includes('-')) {
      const [a, b] = range.split('-') as [string, string];
      [lo, hi] = [value(a), value(b)];
      if (lo > hi) throw fail(`${label} range "${range}" is reversed`);
    } else {
      lo = value(range);
      hi = stepRaw === undefined ? lo : max;
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return [...out].sort((a, b) => a - b);
}

const daysInMonth = (year: number, month: number): number => new Date(Date.UTC(year, month, 0)).getUTCDate();

function parseDom(field: string, fail: (why: string) => Error): DayRule {
  if (field === 'L') return { matches: (y, m, dom) => dom === daysInMonth(y, m) };
  const w = /^(\d{1,2})W$/.exec(field);
  if (w) {
    const target = Number(w[1]);
    if (target < 1 || target > 31) throw fail(`Day-of-month "${field}" is not within 1-31`);
    // Nearest weekday to `target` within the month.
    return {
      matches: (y, m, dom) => {
        const last = daysInMonth(y, m);
        let t = Math.min(target, last);
        const dow = new Date(Date.UTC(y, m - 1, t)).getUTCDay();
        if (dow === 6) t = t === 1 ? 3 : t - 1;
        else if (dow === 0) t = t === last ? t - 2 : t + 1;
        return dom === t;
      },
    };
  }
  const days = new Set(parseList(field, 1, 31, {}, fail, 'Day-of-month'));
  return { matches: (_y, _m, dom) => days.has(dom) };
}

function parseDow(field: string, fail: (why: string) => Error): DayRule {
  const dayValue = (raw: string): number => parseList(raw, 1, 7, { names: WEEKDAYS, base: 1 }, fail, 'Day-of-week')[0]!;
  const nth = /^([A-Za-z]{3}|\d)#([1-5])$/.exec(field);
  if (nth) {
    const want = dayValue(nth[1]!);
    const n = Number(nth[2]);
    return { matches: (_y, _m, dom, dow) => dow === want && Math.ceil(dom / 7) === n };
  }
  const last = /^([A-Za-z]{3}|\d)L$/.exec(field);
  if (last) {
    const want = dayValue(last[1]!);
    return { matches: (y, m, dom, dow) => dow === want && dom + 7 > daysInMonth(y, m) };
  }
  if (field === 'L') return { matches: (_y, _m, _dom, dow) => dow === 7 };
  const days = new Set(parseList(field, 1, 7, { names: WEEKDAYS, base: 1 }, fail, 'Day-of-week'));
  return { matches: (_y, _m, _dom, dow) => days.has(dow) };
}
