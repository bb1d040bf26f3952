/**
 * An error in a data description, or in evaluating it: the message names
 * where (`data=` or the variable `$NAME`) and the character it is at,
 * counted from 1.
 */
export class DataError extends Error {
  constructor(
    readonly source: string,
    readonly position: number,
    message: string,
  ) {
    super(`${source}: at character ${position + 1}: ${message}`);
    this.name = 'DataError';
  }
}
