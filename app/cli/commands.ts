import type { Command } from './command.js';
import { info } from './commands/info.js';
import { serve } from './commands/serve.js';
import { start } from './commands/start.js';

/** Every `kestrel` subcommand, in the order `kestrel --help` lists them. */
export const COMMANDS: Command[] = [start, serve, info];
