/** How the console writes durations, sizes, counts and instants. Pure, unit-tested. */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** 850 ms, 4.4 s, 42 s, 3 min 5 s, 2 h 10 min, 3 d 4 h: two units at most, never "0 min". */
export function formatDuration(ms: number): string {
  const abs = Math.abs(ms);
  const sign = ms < 0 ? '-' : '';
  if (abs < SECOND) return `${sign}${Math.round(abs)} ms`;
  if (abs < 10 * SECOND) return `${sign}${(abs / SECOND).toFixed(1)} s`;
  if (abs < MINUTE) return `${sign}${Math.floor(abs / SECOND)} s`;
  const pair = (big: number, bigUnit: string, small: number, smallUnit: string) =>
    `${sign}${big} ${bigUnit}${small ? ` ${small} ${smallUnit}` : ''}`;
  if (abs < HOUR) return pair(Math.floor(abs / MINUTE), 'min', Math.floor((abs % MINUTE) / SECOND), 's');
  if (abs < DAY) return pair(Math.floor(abs / HOUR), 'h', Math.floor((abs % HOUR) / MINUTE), 'min');
  return pair(Math.floor(abs / DAY), 'd', Math.floor((abs % DAY) / HOUR), 'h');
}

/** 512 B, 48 KB, 1.5 MB, 2.3 GB (powers of 1024, as `du -h` and `df -h` show them). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

/** 1 row, 12,345 rows; "? rows" when unknown (a file without manifest). */
export function formatRows(rows: number | null): string {
  if (rows === null) return '? rows';
  return `${rows.toLocaleString('en-US')} ${rows === 1 ? 'row' : 'rows'}`;
}

/** "42 s ago", "in 3 s" (a clock ahead of the agent's). */
export function formatAge(ms: number): string {
  return ms >= 0 ? `${formatDuration(ms)} ago` : `in ${formatDuration(-ms)}`;
}

/** The instant as the browser's local time: "14:03:07", with the date when it is not `today`. */
export function formatTime(at: number, today: number, withSeconds = true): string {
  const d = new Date(at);
  const time = d.toLocaleTimeString('en-GB', {
    hour: '2-digit',
    minute: '2-digit',
    ...(withSeconds ? { second: '2-digit' } : {}),
  });
  if (sameLocalDay(at, today)) return time;
  const date = d.toLocaleDateString('en-GB', { day: 'numeric', month: 'short' });
  return `${date} ${time}`;
}

/** An instant in ISO-8601 UTC with whole seconds: what the API accepts for `?at=`. */
export function isoSeconds(at: number): string {
  return new Date(Math.floor(at / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export function sameLocalDay(a: number, b: number): boolean {
  const x = new Date(a);
  const y = new Date(b);
  return x.getFullYear() === y.getFullYear() && x.getMonth() === y.getMonth() && x.getDate() === y.getDate();
}
