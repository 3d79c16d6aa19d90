import type { Command } from './command.js';
import { captionsCommand } from './commands/captions.js';
import { embedImage, embedText } from './commands/embed.js';
import { evalCommand } from './commands/eval.js';
import { index } from './commands/index.js';
import { importModelCommand } from './commands/import-model.js';
import { info } from './commands/info.js';
import { inspect } from './commands/inspect.js';
import { search } from './commands/search.js';
import { serve } from './commands/serve.js';
import { start } from './commands/start.js';
import { tokenize } from './commands/tokenize.js';
import { tune } from './commands/tune.js';

/** Every `kestrel` subcommand, in the order `kestrel --help` lists them. */
export const COMMANDS: Command[] = [start, serve, info, inspect, index, search, tokenize, embedText, embedImage, importModelCommand, evalCommand, captionsCommand, tune];
