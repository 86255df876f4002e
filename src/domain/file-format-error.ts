// Input that cannot be read, named by file and 1-based line, so the user can go and fix it.
export class FileFormatError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    detail: string,
  ) {
    super(`${file}:${line}: ${detail}`);
    this.name = new.target.name;
  }
}
