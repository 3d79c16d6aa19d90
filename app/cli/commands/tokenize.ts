import { ClipTokenizer, END_OF_TEXT } from '../../core/model/index.js';
import { printJson, type Command } from '../command.js';
import { UsageError } from '../errors.js';
import { modelPack } from './model-common.js';

export const tokenize: Command = {
  name: 'tokenize',
  summary: "A text's token ids as the model pack's tokenizer gives them (CLIP BPE, as open_clip)",
  usage: 'kestrel tokenize --model <pack> "<text>" [--json] [--data DIR]',
  options: { model: { type: 'string' } },
  async run(ctx) {
    const text = ctx.positionals.join(' ');
    if (ctx.positionals.length === 0) throw new UsageError('give the text to tokenize');
    const pack = modelPack(ctx);
    const tokenizer = ClipTokenizer.fromFile(pack.vocabulary, pack.manifest.text.contextLength);
    const ids = Array.from(tokenizer.tokenize(text));
    const length = ids.indexOf(END_OF_TEXT) + 1;
    if (ctx.json) {
      printJson(ctx, { model: pack.manifest.name, text, contextLength: ids.length, length, ids });
      return 0;
    }
    ctx.stdout.write(ids.slice(0, length).join(' ') + '\n');
    ctx.stderr.write(`${length} of ${ids.length} positions used (the rest is padding with 0)\n`);
    return 0;
  },
};
