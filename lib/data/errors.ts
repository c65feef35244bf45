/**
 * What can go wrong with the IMDB data, said so that the user can fix it: ImdbError and its codes,
 * shared by the archive reader, the download, the vocabulary, the cache and the loader; and the
 * default warning line (on stderr: warnings and errors only).
 */

export type ImdbErrorCode =
  | 'ARCHIVE_NOT_FOUND'
  | 'ARCHIVE_UNREADABLE'
  | 'ARCHIVE_CORRUPT'
  | 'SPLIT_MISSING'
  | 'DOWNLOAD_FAILED'
  | 'CACHE_UNWRITABLE'
  | 'VOCABULARY_INVALID'
  | 'INVALID_OPTION'
  | 'ABORTED';

/** Every failure of the IMDB modules: `code` says what went wrong, `path` which file it concerns. */
export class ImdbError extends Error {
  override readonly name = 'ImdbError';
  constructor(
    readonly code: ImdbErrorCode,
    message: string,
    readonly path?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** An error as one line: its errno code, message and cause. */
export function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    const cause = err.cause instanceof Error ? ` (${err.cause.message})` : '';
    return `${code ? `${code}: ` : ''}${err.message}${cause}`;
  }
  return String(err);
}

/** The errno code of a file-system error (ENOENT, EACCES, ...), if any. */
export function errnoCode(err: unknown): string | undefined {
  return err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined;
}

/** The default warning display: "imdb: <message>" on stderr. */
export function stderrWarning(message: string): void {
  process.stderr.write(`imdb: ${message}\n`);
}
