/**
 * The console's one stylesheet, served from /console/assets/console.css (the pages carry no inline
 * styles or scripts, so the Content-Security-Policy can forbid both). Readable from a phone up: one
 * column below 48rem, tables scroll sideways instead of squeezing.
 */
export const CONSOLE_CSS = `
:root { --ink: #1b1f24; --muted: #57606a; --line: #d0d7de; --bg: #f6f8fa; --card: #fff;
  --accent: #0b5cad; --pass: #1a7f37; --fail: #b42318; --na: #6e7781; --mark: #fff3b0; --focus: #ffbf47; }
* { box-sizing: border-box; }
html { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; font-size: 16px; color: var(--ink);
  background: var(--bg); line-height: 1.45; }
body { margin: 0; }
a { color: var(--accent); }
a:focus, button:focus, input:focus, select:focus, textarea:focus, summary:focus {
  outline: 3px solid var(--focus); outline-offset: 1px; }
.skip { position: absolute; left: -999px; top: 0; background: var(--card); padding: .5rem 1rem; z-index: 10; }
.skip:focus { left: .5rem; }
header.top { background: #0d1b2a; color: #fff; padding: .5rem 1rem; display: flex; flex-wrap: wrap; gap: .5rem 1.5rem;
  align-items: center; }
header.top .brand { font-weight: 700; color: #fff; text-decoration: none; }
header.top nav ul { list-style: none; display: flex; flex-wrap: wrap; gap: .25rem 1rem; margin: 0; padding: 0; }
header.top nav a { color: #d8e1ea; text-decoration: none; padding: .25rem 0; display: inline-block; }
header.top nav a[aria-current="page"] { color: #fff; border-bottom: 2px solid var(--focus); }
header.top .who { margin-left: auto; display: flex; gap: .75rem; align-items: center; font-size: .9rem; }
header.top .who button { background: transparent; color: #fff; border: 1px solid #8aa0b5; border-radius: 4px;
  padding: .2rem .6rem; cursor: pointer; font: inherit; }
main { max-width: 80rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.5rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.15rem; margin: 1.5rem 0 .5rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 1rem; margin-bottom: 1rem; }
.grid { display: grid; gap: 1rem; grid-template-columns: repeat(auto-fit, minmax(11rem, 1fr)); }
.kpi { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .75rem 1rem; }
.kpi .label { color: var(--muted); font-size: .85rem; }
.kpi .value { font-size: 1.6rem; font-weight: 650; }
.kpi .sub { color: var(--muted); font-size: .8rem; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; background: var(--card); font-size: .92rem; }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef1f4; font-weight: 600; white-space: nowrap; }
tbody th { background: transparent; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.pill { display: inline-block; padding: 0 .5rem; border-radius: 999px; font-size: .8rem; font-weight: 600;
  border: 1px solid currentColor; white-space: nowrap; }
.pass { color: var(--pass); } .fail { color: var(--fail); } .na { color: var(--na); }
.muted { color: var(--muted); }
.rate { white-space: nowrap; font-variant-numeric: tabular-nums; }
svg.bar { vertical-align: middle; }
form.filters { display: grid; gap: .5rem 1rem; grid-template-columns: repeat(auto-fit, minmax(10rem, 1fr)); align-items: end; }
label { display: block; font-size: .85rem; color: var(--muted); }
input, select, textarea, button { font: inherit; }
input[type=text], input[type=date], input[type=number], input[type=password], select, textarea {
  width: 100%; padding: .35rem .5rem; border: 1px solid #8c959f; border-radius: 4px; background: #fff; color: var(--ink); }
textarea { min-height: 2.4rem; }
button.primary, a.button { background: var(--accent); color: #fff; border: 0; border-radius: 4px; padding: .45rem 1rem;
  cursor: pointer; text-decoration: none; display: inline-block; }
button.secondary { background: #fff; color: var(--accent); border: 1px solid var(--accent); border-radius: 4px;
  padding: .35rem .8rem; cursor: pointer; }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin: .75rem 0; }
.pager { display: flex; gap: 1rem; margin: 1rem 0; }
.notice { border-left: 4px solid var(--accent); background: #eaf2fb; padding: .6rem .8rem; margin: 0 0 1rem; }
.error { border-left: 4px solid var(--fail); background: #fdecea; padding: .6rem .8rem; margin: 0 0 1rem; }
.transcript { list-style: none; padding: 0; margin: 0; }
.transcript li { display: grid; grid-template-columns: 3rem 6rem 1fr; gap: .5rem; padding: .3rem 0;
  border-bottom: 1px solid #eef1f4; }
.transcript .turn, .transcript .when { color: var(--muted); font-size: .8rem; font-variant-numeric: tabular-nums; }
.transcript .speaker { font-weight: 600; font-size: .8rem; }
.transcript .agent .speaker { color: var(--accent); }
mark { background: var(--mark); padding: 0 .1rem; border-radius: 2px; }
mark a { color: inherit; text-decoration: none; }
.rule-evidence { font-size: .9rem; }
fieldset.verdict { border: 0; padding: 0; margin: 0; display: flex; flex-wrap: wrap; gap: .25rem .75rem; }
fieldset.verdict label { color: var(--ink); font-size: .9rem; display: inline-flex; gap: .25rem; align-items: center; }
figure { margin: 0 0 1rem; }
svg.chart { width: 100%; height: auto; max-height: 16rem; background: var(--card); overflow: visible; }
svg.chart text { font-size: 11px; fill: var(--muted); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.login { max-width: 22rem; margin: 4rem auto; }
.login form > * + * { margin-top: .75rem; }
@media (max-width: 48rem) {
  main { padding: .75rem; }
  header.top .who { margin-left: 0; }
  .transcript li { grid-template-columns: 2.5rem 1fr; }
  .transcript .text { grid-column: 1 / -1; }
  dl.facts { grid-template-columns: 1fr; }
  dl.facts dt { margin-top: .4rem; }
  .card { padding: .75rem; }
}
@media (max-width: 36rem) {
  /* The chart is drawn 720 units wide and scaled to the screen: on a phone (a card about 300 px
     wide) 11 units of text would be 4-5 px. Larger units keep the axis labels readable there; the
     labels are few enough (at most 8 days, 3 values per axis) to fit. */
  svg.chart text { font-size: 20px; }
}
`;
