/**
 * The one error type of the REGF module: every problem with a hive's bytes (truncated, corrupted, hostile) or with
 * a requested change that the hive cannot hold is a `RegfError` naming the file offset and what was wrong.
 */
import { WinpeError } from "../../runtime/errors";
export class RegfError extends WinpeError {
  /**
   * @param offset - absolute file offset of the offending structure (`-1` when no offset applies)
   * @param problem - what was wrong, in words
   * @param file - the file name, when the hive came from a file
   */
  constructor(
    readonly offset: number,
    readonly problem: string,
    readonly file?: string,
  ) {
    super(
      `${file ? `${file}: ` : ""}registry hive${offset >= 0 ? ` at offset 0x${offset.toString(16)}` : ""}: ${problem}`,
    );
    this.name = "RegfError";
  }

  /** The same error attributed to `file` (used when a parse of a buffer read from a file fails). */
  withFile(file: string): RegfError {
    if (this.file) return this;
    const e = new RegfError(this.offset, this.problem, file);
    e.stack = this.stack;
    return e;
  }
}
