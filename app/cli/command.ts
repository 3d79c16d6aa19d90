import type { ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

export interface CommandContext {
  /** Positional arguments after the subcommand. */
  positionals: string[];
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  /** Machine-readable output wanted: print one JSON document on stdout. */
  json: boolean;
  dataDir: string;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** One `kestrel <name>` subcommand. Later capabilities add theirs to the list in commands.ts. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: Options;
  /** Returns the exit code; long-running commands resolve when they stop. */
  run(ctx: CommandContext): Promise<number>;
}

/** Options every subcommand accepts. */
export const COMMON_OPTIONS: Options = {
  data: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
};

export function printJson(ctx: CommandContext, value: unknown): void {
  ctx.stdout.write(JSON.stringify(value, null, 2) + '\n');
}
