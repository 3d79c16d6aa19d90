/**
 * Errors are values the user can act on: what failed, on which file, why, what to do.
 * They cross every transport (in-process, IPC, HTTP) as plain JSON of this shape.
 */
export type ErrorCode =
  | 'invalid_input'
  | 'unknown_method'
  | 'unauthorized'
  | 'not_found'
  | 'unavailable'
  /** The request is understood but this front end cannot do it (e.g. a native picker outside the desktop app). */
  | 'unsupported'
  /** The caller may not do this here (e.g. a file path from the desktop app's renderer instead of a picker grant). */
  | 'forbidden'
  /** The user cancelled the operation (a scan); nothing was changed. */
  | 'cancelled'
  | 'io_error'
  | 'corrupt_file'
  | 'internal';

export interface KestrelErrorData {
  code: ErrorCode;
  /** One sentence in the user's words: what failed and why. */
  message: string;
  /** The file the failure is about, when there is one. */
  file?: string;
  /** What the user can do about it. */
  hint?: string;
  /** Field-level problems for invalid_input: dotted path → message. */
  issues?: { path: string; message: string }[];
}

export class KestrelError extends Error implements KestrelErrorData {
  readonly code: ErrorCode;
  readonly file?: string;
  readonly hint?: string;
  readonly issues?: { path: string; message: string }[];

  constructor(data: KestrelErrorData) {
    super(data.message);
    this.name = 'KestrelError';
    this.code = data.code;
    if (data.file !== undefined) this.file = data.file;
    if (data.hint !== undefined) this.hint = data.hint;
    if (data.issues !== undefined) this.issues = data.issues;
  }

  toJSON(): KestrelErrorData {
    const out: KestrelErrorData = { code: this.code, message: this.message };
    if (this.file !== undefined) out.file = this.file;
    if (this.hint !== undefined) out.hint = this.hint;
    if (this.issues !== undefined) out.issues = this.issues;
    return out;
  }

  /** Any thrown value → a KestrelError; unknown errors become `internal` without leaking a stack. */
  static from(err: unknown): KestrelError {
    if (err instanceof KestrelError) return err;
    if (isErrorData(err)) return new KestrelError(err);
    const message = err instanceof Error ? err.message : String(err);
    return new KestrelError({ code: 'internal', message: `Unexpected error: ${message}` });
  }
}

export function isErrorData(value: unknown): value is KestrelErrorData {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.code === 'string' && typeof v.message === 'string';
}
