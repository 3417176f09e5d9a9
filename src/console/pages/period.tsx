/** The "last 7 / 30 / 90 days" choice several pages share. */
export const PERIODS = [7, 30, 90] as const;

export function PeriodLinks(props: { days: number; href: (days: number) => string }) {
  return (
    <nav aria-label="Period" class="actions">
      <span class="muted">Period:</span>
      {PERIODS.map((d) => (
        <a href={props.href(d)} aria-current={d === props.days ? 'true' : undefined}>
          {d === props.days ? <strong>{`last ${d} days`}</strong> : `last ${d} days`}
        </a>
      ))}
    </nav>
  );
}
