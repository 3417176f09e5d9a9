import type { Child } from 'hono/jsx';
import type { User } from '../store/accounts.js';
import { formatCount } from './format.js';

export const BASE = '/console';

export type Section = 'overview' | 'conversations' | 'agents' | 'rubric' | 'queue' | 'calibration';

const NAV: { section: Section; href: string; label: string }[] = [
  { section: 'overview', href: BASE, label: 'Overview' },
  { section: 'conversations', href: `${BASE}/conversations`, label: 'Conversations' },
  { section: 'agents', href: `${BASE}/agents`, label: 'Agents' },
  { section: 'calibration', href: `${BASE}/calibration`, label: 'Calibration' },
  { section: 'rubric', href: `${BASE}/rubric`, label: 'Rubric' },
  { section: 'queue', href: `${BASE}/queue`, label: 'Queue' },
];

/** What every signed-in page needs besides its data. */
export interface PageContext {
  user: User;
  csrfToken: string;
  /** Instants as people read them, in the console's TIME_ZONE. */
  time: { dateTime(ms: number): string; day(ms: number): string };
  timeZone: string;
  now: number;
}

export function Document(props: { title: string; children: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="same-origin" />
        <title>{`${props.title} · QA console`}</title>
        <link rel="stylesheet" href={`${BASE}/assets/console.css`} />
      </head>
      <body>{props.children}</body>
    </html>
  );
}

/** A hidden field every state-changing form carries (checked against the session). */
export function CsrfField(props: { token: string }) {
  return <input type="hidden" name="_csrf" value={props.token} />;
}

export function Layout(props: { title: string; section?: Section; ctx: PageContext; children: Child }) {
  const { ctx } = props;
  return (
    <Document title={props.title}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={BASE}>
          QA console
        </a>
        <nav aria-label="Console">
          <ul>
            {NAV.map((n) => (
              <li>
                <a href={n.href} aria-current={n.section === props.section ? 'page' : undefined}>
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span>
            {ctx.user.name} <span class="muted">({ctx.user.role})</span>
          </span>
          <form method="post" action={`${BASE}/logout`}>
            <CsrfField token={ctx.csrfToken} />
            <button type="submit">Sign out</button>
          </form>
        </div>
      </header>
      <main id="main" tabindex={-1}>
        <h1>{props.title}</h1>
        {props.children}
      </main>
    </Document>
  );
}

export function OutcomePill(props: { outcome: string }) {
  const label = props.outcome === 'na' ? 'N/A' : props.outcome;
  const cls = props.outcome === 'pass' || props.outcome === 'fail' ? props.outcome : 'na';
  return <span class={`pill ${cls}`}>{label}</span>;
}

/** A rule's failures in a table cell: a link to those conversations when there are any. */
export function FailedCount(props: { fails: number; href: string }) {
  return <td class="num">{props.fails > 0 ? <a href={props.href}>{formatCount(props.fails)}</a> : '0'}</td>;
}

/**
 * A horizontal bar for a rate, with the number beside it (the bar alone says nothing to a screen
 * reader). Drawn as SVG: its geometry is attributes, so the CSP can forbid inline styles.
 */
export function RateBar(props: { part: number; whole: number }) {
  const pct = props.whole > 0 ? (100 * props.part) / props.whole : 0;
  return (
    <span class="rate">
      <svg
        class="bar"
        viewBox="0 0 100 6"
        width="96"
        height="8"
        aria-hidden="true"
        preserveAspectRatio="none"
      >
        <rect x="0" y="0" width="100" height="6" fill="#e5e9ee" />
        <rect x="0" y="0" width={pct.toFixed(2)} height="6" fill="#1a7f37" />
      </svg>{' '}
      {props.whole > 0 ? `${pct.toFixed(1)} %` : '–'}
    </span>
  );
}
