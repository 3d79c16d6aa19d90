/** The last part of a path; the engine's paths use the separator of the machine it runs on, / or \. */
export const fileName = (path: string): string => path.split(/[\\/]/).pop() ?? path;

/** Time left as the progress lines say it; nothing before there is a rate to estimate it from. */
export const eta = (seconds: number | null): string =>
  seconds === null ? '' : seconds < 90 ? `${Math.round(seconds)} s left` : `${Math.round(seconds / 60)} min left`;
