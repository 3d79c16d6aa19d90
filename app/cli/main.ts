import { parseArgs } from 'node:util';
import { KestrelError } from '../contract/index.js';
import { packageInfo, resolveDataDir } from '../core/index.js';
import { COMMON_OPTIONS, type Command } from './command.js';
import { COMMANDS } from './commands.js';
import { UsageError } from './errors.js';

export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'kestrel: search satellite and aerial image archives by description, offline.',
    '',
    'Usage: kestrel <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Every command accepts:',
    '  --data DIR   the data folder (default: $KESTREL_DATA, else the desktop app\'s data folder)',
    '  --json       machine-readable output on stdout; progress and messages go to stderr',
    '  --help       the command\'s usage',
    '',
    'kestrel --version prints the version.',
  ].join('\n');
}

function commandHelp(command: Command): string {
  return `${command.usage}\n\n${command.summary}.\n`;
}

/** Runs one CLI invocation and returns its exit code: 0 success, 1 failure, 2 usage error. */
export async function runCli(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(help() + '\n');
    return 0;
  }
  if (name === '--version' || name === '-v') {
    io.stdout.write(packageInfo().version + '\n');
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.stderr.write(`kestrel: unknown command "${name}"\n\n${help()}\n`);
    return 2;
  }
  let json = false;
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      options: { ...COMMON_OPTIONS, ...command.options },
      allowPositionals: true,
      strict: true,
    });
    if (values.help) {
      io.stdout.write(commandHelp(command));
      return 0;
    }
    json = values.json === true;
    return await command.run({
      positionals,
      values,
      json,
      dataDir: resolveDataDir(values.data as string | undefined, io.env),
      stdout: io.stdout,
      stderr: io.stderr,
    });
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr.write(`kestrel ${command.name}: ${(err as Error).message}\nusage: ${command.usage}\n`);
      return 2;
    }
    const error = KestrelError.from(err);
    if (json) io.stdout.write(JSON.stringify({ error: error.toJSON() }, null, 2) + '\n');
    const lines = [`kestrel ${command.name}: ${error.message}`];
    if (error.file) lines.push(`  file: ${error.file}`);
    if (error.hint) lines.push(`  what to do: ${error.hint}`);
    io.stderr.write(lines.join('\n') + '\n');
    return 1;
  }
}
