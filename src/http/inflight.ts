/**
 * A bound on the request-body bytes held in memory across all requests at once.
 *
 * The per-request limit (256 KiB) does not bound memory: 2,000 connections each sending 255 KiB held
 * 510 MB before any of them was refused. Every body read takes its bytes from this budget as they
 * arrive (a declared Content-Length up front, so an honest request past the budget is refused without
 * reading a byte) and gives them back when its request is answered. Past the budget the request is
 * answered 503 with Retry-After: a webhook sender retries later, and nothing is lost.
 */
export class InflightBytes {
  private held = 0;

  constructor(readonly max: number) {}

  /** Takes `bytes` if they fit; false (and nothing taken) when they do not. */
  take(bytes: number): boolean {
    if (bytes <= 0) return true;
    if (this.held + bytes > this.max) return false;
    this.held += bytes;
    return true;
  }

  give(bytes: number): void {
    this.held = Math.max(0, this.held - bytes);
  }

  /** Bytes held right now. */
  get inUse(): number {
    return this.held;
  }
}

/** Tracks one request's share of an InflightBytes, so it gives back exactly what it took. */
export class InflightShare {
  private taken = 0;

  constructor(private readonly budget: InflightBytes) {}

  /** Makes this request's share at least `total` bytes; false when the budget cannot cover it. */
  growTo(total: number): boolean {
    if (total <= this.taken) return true;
    if (!this.budget.take(total - this.taken)) return false;
    this.taken = total;
    return true;
  }

  release(): void {
    this.budget.give(this.taken);
    this.taken = 0;
  }
}
