// Runs async work so that at most one call is in flight and only the newest request is run
// next: typing fast never queues up a backlog of stale previews or saves.
export class LatestOnly<T, R> {
  private running = false;
  private pending: { input: T } | null = null;

  constructor(
    private readonly work: (input: T) => Promise<R>,
    private readonly onResult: (result: R, input: T) => void,
    private readonly onError: (err: unknown, input: T) => void,
  ) {}

  /** Asks for `input` to be processed; replaces any request still waiting. */
  request(input: T): void {
    this.pending = { input };
    if (!this.running) void this.drain();
  }

  /** True while a call is in flight or waiting. */
  get busy(): boolean {
    return this.running || this.pending !== null;
  }

  private async drain(): Promise<void> {
    this.running = true;
    while (this.pending) {
      const { input } = this.pending;
      this.pending = null;
      try {
        this.onResult(await this.work(input), input);
      } catch (err) {
        this.onError(err, input);
      }
    }
    this.running = false;
  }
}
