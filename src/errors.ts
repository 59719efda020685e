// Errors the library throws on purpose. Every message names what is wrong and, for files, which file:
// bad input must never surface as a crash, a hang or a RangeError from deep inside a typed array.

/** Base class: anything phi3 reports about bad input or a bad request. */
export class Phi3Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A model, tokenizer or weights file that cannot be read as what it claims to be. */
export class FormatError extends Phi3Error {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}

/** A request the engine cannot serve as asked (prompt longer than the context, bad option value…). */
export class RequestError extends Phi3Error {}
