// Progress with a rate and an estimate of the time left: a bar redrawn in place on a terminal,
// and a plain line now and then elsewhere, so logs and pipes stay readable.
export class ProgressBar {
  private readonly started = Date.now();
  private done = 0;
  private lastShown = this.started;

  /**
   * @param lineEveryMs how often a plain line is written when the stream is no terminal
   * @param drawEveryMs how often the bar is redrawn on a terminal
   */
  constructor(
    private readonly total: number,
    private readonly unit: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly lineEveryMs = 10_000,
    private readonly drawEveryMs = 200,
  ) {}

  advance(count = 1): void {
    this.done += count;
    const now = Date.now();
    const finished = this.done >= this.total;
    if (this.stream.isTTY) {
      if (now - this.lastShown < this.drawEveryMs && this.done !== count && !finished) return;
      const width = 30;
      const filled = Math.min(width, Math.round((this.done / Math.max(1, this.total)) * width));
      this.stream.write(`\r[${'='.repeat(filled)}${' '.repeat(width - filled)}] ${this.status(now)}\x1b[K${finished ? '\n' : ''}`);
    } else {
      if (now - this.lastShown < this.lineEveryMs || finished) return;
      this.stream.write(`progress: ${this.status(now)}\n`);
    }
    this.lastShown = now;
  }

  /** `1234/24000 answers (5.1%), 4.2 answers/s, 1h32m left` */
  private status(now: number): string {
    const seconds = (now - this.started) / 1000;
    const rate = seconds > 0 ? this.done / seconds : 0;
    const percent = ((100 * this.done) / Math.max(1, this.total)).toFixed(1);
    const left = rate > 0 ? `${duration(Math.max(0, this.total - this.done) / rate)} left` : 'time left unknown';
    return `${this.done}/${this.total} ${this.unit} (${percent}%), ${rate.toFixed(1)} ${this.unit}/s, ${left}`;
  }
}

/** 75 → `1m15s`, 5400 → `1h30m`. */
export function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
