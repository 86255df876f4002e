// A one-line progress bar with a rate, drawn only on a terminal so logs and pipes stay clean.
export class ProgressBar {
  private readonly started = Date.now();
  private done = 0;

  constructor(
    private readonly total: number,
    private readonly unit: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  tick(): void {
    this.done++;
    if (!this.stream.isTTY) return;
    const width = 30;
    const filled = Math.round((this.done / Math.max(1, this.total)) * width);
    const seconds = (Date.now() - this.started) / 1000;
    const rate = seconds > 0 ? (this.done / seconds).toFixed(1) : '-';
    this.stream.write(
      `\r[${'='.repeat(filled)}${' '.repeat(width - filled)}] ${this.done}/${this.total} ${this.unit} ${rate} ${this.unit}/s`,
    );
    if (this.done === this.total) this.stream.write('\n');
  }
}
