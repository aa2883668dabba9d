/** Splits a byte stream into lines: `onLine` gets each whole line, or with `latest` only the last of each chunk. */
export class LineReader {
  private rest = '';

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly latest = false,
  ) {}

  push(chunk: Buffer): void {
    const lines = (this.rest + chunk.toString('utf8')).split('\n');
    this.rest = lines.pop() ?? '';
    if (this.latest) {
      const last = lines.at(-1);
      if (last) this.onLine(last);
    } else {
      for (const line of lines) if (line) this.onLine(line);
    }
  }
}
