/** A message fit for the UI from anything a client call throws: never a stack trace. */
export function describeError(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'message' in err) {
    const e = err as { message: string; file?: string; hint?: string };
    return [e.message, e.file ? `(${e.file})` : '', e.hint ?? ''].filter(Boolean).join(' ');
  }
  return String(err);
}
