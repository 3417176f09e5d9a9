/**
 * Charts drawn on the server as SVG: nothing to load in the browser, readable without scripts,
 * and each chart comes with its numbers in a table for screen readers and copy-paste.
 */
import { formatCount } from './format.js';

export interface DayPoint {
  day: string;
  results: number;
  /** Average composite 0-100, or null without results. */
  average: number | null;
  /** Share passed 0-100, or null without results. */
  passRate: number | null;
}

const W = 720;
const H = 220;
const M = { top: 16, right: 40, bottom: 28, left: 48 };

function niceMax(n: number): number {
  if (n <= 5) return 5;
  const magnitude = 10 ** Math.floor(Math.log10(n));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= n) return step * magnitude;
  return 10 * magnitude;
}

function path(points: { x: number; y: number | null }[]): string {
  let d = '';
  let pen = false;
  for (const p of points) {
    if (p.y === null) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${p.x.toFixed(1)},${p.y.toFixed(1)} `;
    pen = true;
  }
  return d.trim();
}

/**
 * Points with no neighbour that has a value: a line cannot show them (a path of one point draws
 * nothing), so they get a dot. The first day after installing, or a day between two empty ones (a
 * weekend), would otherwise show its bar with no average and no pass rate at all.
 */
function isolated(points: { x: number; y: number | null }[]): { x: number; y: number }[] {
  return points.filter(
    (p, i): p is { x: number; y: number } =>
      p.y !== null && (points[i - 1]?.y ?? null) === null && (points[i + 1]?.y ?? null) === null,
  );
}

/** Volume per day as bars (left axis), average score and pass rate as lines (right axis, 0-100). */
export function TrendChart(props: { points: DayPoint[]; title: string; id: string }) {
  const { points } = props;
  const innerW = W - M.left - M.right;
  const innerH = H - M.top - M.bottom;
  const maxVolume = niceMax(Math.max(0, ...points.map((p) => p.results)));
  const step = points.length > 0 ? innerW / points.length : innerW;
  const barW = Math.max(1, step * 0.7);
  const x = (i: number) => M.left + step * i + step / 2;
  const yVol = (v: number) => M.top + innerH - (v / maxVolume) * innerH;
  const yPct = (v: number) => M.top + innerH - (v / 100) * innerH;
  const labelEvery = Math.max(1, Math.ceil(points.length / 8));
  const average = points.map((p, i) => ({ x: x(i), y: p.average === null ? null : yPct(p.average) }));
  const passRate = points.map((p, i) => ({ x: x(i), y: p.passRate === null ? null : yPct(p.passRate) }));
  return (
    <figure class="card">
      <svg class="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby={`${props.id}-title`}>
        <title id={`${props.id}-title`}>{props.title}</title>
        {[0, 0.5, 1].map((f) => (
          <g>
            <line
              x1={M.left}
              x2={W - M.right}
              y1={M.top + innerH * (1 - f)}
              y2={M.top + innerH * (1 - f)}
              stroke="#e5e9ee"
            />
            <text x={M.left - 6} y={M.top + innerH * (1 - f) + 4} text-anchor="end">
              {formatCount(Math.round(maxVolume * f))}
            </text>
            <text x={W - M.right + 6} y={M.top + innerH * (1 - f) + 4}>{`${Math.round(100 * f)}`}</text>
          </g>
        ))}
        {points.map((p, i) => (
          <rect
            x={x(i) - barW / 2}
            y={yVol(p.results)}
            width={barW}
            height={M.top + innerH - yVol(p.results)}
            fill="#c9d8ea"
          >
            <title>{`${p.day}: ${formatCount(p.results)} conversations`}</title>
          </rect>
        ))}
        <path d={path(average)} fill="none" stroke="#0b5cad" stroke-width="2" />
        <path d={path(passRate)} fill="none" stroke="#1a7f37" stroke-width="2" stroke-dasharray="5 3" />
        {isolated(average).map((p) => (
          <circle class="average" cx={p.x.toFixed(1)} cy={p.y.toFixed(1)} r="3.5" fill="#0b5cad" />
        ))}
        {isolated(passRate).map((p) => (
          <circle
            class="pass-rate"
            cx={p.x.toFixed(1)}
            cy={p.y.toFixed(1)}
            r="3.5"
            fill="#fff"
            stroke="#1a7f37"
            stroke-width="2"
          />
        ))}
        {points.map((p, i) =>
          i % labelEvery === 0 || (i === points.length - 1 && i % labelEvery >= labelEvery / 2) ? (
            <text x={x(i)} y={H - 8} text-anchor="middle">
              {p.day.slice(5)}
            </text>
          ) : null,
        )}
      </svg>
      <figcaption class="muted">
        Bars: conversations per day (left axis). Solid line: average score; dashed line: pass rate (right
        axis, 0-100).
      </figcaption>
      <details>
        <summary>Numbers</summary>
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Day</th>
                <th class="num">Conversations</th>
                <th class="num">Average</th>
                <th class="num">Pass rate</th>
              </tr>
            </thead>
            <tbody>
              {points.map((p) => (
                <tr>
                  <td>{p.day}</td>
                  <td class="num">{formatCount(p.results)}</td>
                  <td class="num">{p.average === null ? '–' : p.average.toFixed(2)}</td>
                  <td class="num">{p.passRate === null ? '–' : `${p.passRate.toFixed(1)} %`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
