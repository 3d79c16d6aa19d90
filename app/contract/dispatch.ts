import type { z } from 'zod';
import { KestrelError } from './errors.js';
import { isMethodName, methods, type MethodName, type MethodOutput, type Methods } from './schema.js';
import type { EventSource, KestrelClient } from './client.js';

/** The engine's implementation of every method, receiving inputs already validated. */
export type Handlers = {
  [M in MethodName]: (input: z.output<Methods[M]['input']>) => Promise<MethodOutput<M>> | MethodOutput<M>;
};

export interface DispatchTarget {
  handlers: Handlers;
  events: EventSource;
}

function issuesOf(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join('.') || '(input)',
    message: issue.message,
  }));
}

/**
 * The single boundary check every transport goes through: the method must exist, the input must
 * match its schema (unknown fields are refused, not ignored), and the handler's output must match
 * the contract, so a transport never forwards something the other side cannot trust.
 */
export async function dispatch(handlers: Handlers, method: string, rawInput: unknown): Promise<unknown> {
  if (!isMethodName(method)) {
    throw new KestrelError({ code: 'unknown_method', message: `There is no method named "${method}".` });
  }
  const spec = methods[method];
  const parsed = spec.input.safeParse(rawInput ?? {});
  if (!parsed.success) {
    const issues = issuesOf(parsed.error);
    throw new KestrelError({
      code: 'invalid_input',
      message: `Invalid input for ${method}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
      issues,
    });
  }
  const handler = handlers[method] as (input: unknown) => unknown;
  let output: unknown;
  try {
    output = await handler(parsed.data);
  } catch (err) {
    throw KestrelError.from(err);
  }
  const checked = spec.output.safeParse(output);
  if (!checked.success) {
    throw new KestrelError({
      code: 'internal',
      message: `The engine returned a malformed result for ${method}: ${issuesOf(checked.error)
        .map((i) => `${i.path}: ${i.message}`)
        .join('; ')}`,
    });
  }
  return checked.data;
}

/** The in-process transport: the same validation as IPC and HTTP, without a wire. */
export function createInProcessClient(target: DispatchTarget): KestrelClient {
  return {
    call: (method, input) => dispatch(target.handlers, method, input) as Promise<never>,
    on: (event, listener) => target.events.on(event, listener),
  };
}
