/**
 * The one base of winpe-lab's errors. Every error that reports bad input or a failed step extends it, and its
 * message says which field or file, what was wrong, and what to do, in one line where it can (`'winpe-lab:iso.path'
 * must end in .iso`). Faces that show errors (the program, the CLI) print a {@link WinpeError} as its message alone;
 * anything else is a fault of winpe-lab itself and is shown with its stack.
 */
export class WinpeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Whether `e` is one of winpe-lab's own errors (an expected failure, worded for the user). */
export function isWinpeError(e: unknown): e is WinpeError {
  return e instanceof WinpeError;
}
