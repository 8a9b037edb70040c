// The one error type of the image loaders: the message says what was checked and what was
// found, so the CLI can print it as is ("vmxlab run: <file>: <message>").

export class ImageFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageFormatError';
  }
}
