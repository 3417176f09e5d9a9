import { describe, expect, it } from 'vitest';
import { type DayPoint, TrendChart } from '../../src/console/charts.js';

const day = (d: string, results: number, average: number | null, passRate: number | null): DayPoint => ({
  day: d,
  results,
  average,
  passRate,
});
const render = (points: DayPoint[]) => String(TrendChart({ points, title: 'Per day', id: 't' }));
const lines = (svg: string) => [...svg.matchAll(/<path d="([^"]*)"/g)].map((m) => m[1]!);

describe('TrendChart', () => {
  it('draws a day with results between days without any as a visible mark, not an empty path', () => {
    // The first day after installing, or a weekday between two empty days: a path of one point
    // ("M x,y") draws nothing, so the day's average and pass rate would not show at all.
    const svg = render([
      day('2024-05-08', 0, null, null),
      day('2024-05-09', 12, 81.5, 90),
      day('2024-05-10', 0, null, null),
    ]);
    expect(lines(svg).every((d) => !d.includes('L'))).toBe(true);
    expect(svg.match(/<circle class="average"/g)).toHaveLength(1);
    expect(svg.match(/<circle class="pass-rate"/g)).toHaveLength(1);
  });

  it('draws runs of days as lines, without dots', () => {
    const svg = render([day('2024-05-09', 12, 81.5, 90), day('2024-05-10', 8, 77, 100)]);
    expect(lines(svg).every((d) => /^M[\d.]+,[\d.]+ L[\d.]+,[\d.]+$/.test(d))).toBe(true);
    expect(svg).not.toContain('<circle');
  });
});
