/**
 * The words of an option that stands for a table of the configuration file (`--group`, `--route`):
 * `KEY=VALUE` words separated by spaces, a value in double quotes when it holds spaces
 * (`match="^a b"`; inside quotes `\"` is a quote, every other byte is itself), and a bare `KEY`
 * for a flag (`stop`: `stop=true`).
 */
import { RelayError } from '../errors.js';

/** The words of `text` (given to `option`, for errors), in order; `example` is shown when a word is not KEY=VALUE. */
export function optionWords(option: string, text: string, example: string): [key: string, value: string | true][] {
  const fail = (reason: string): never => {
    throw new RelayError('ERR_BAD_OPTION', `${option} ${JSON.stringify(text)}: ${reason}`);
  };
  const words: [string, string | true][] = [];
  let i = 0;
  while (i < text.length) {
    if (/\s/.test(text[i]!)) {
      i++;
      continue;
    }
    const keyEnd = text.slice(i).search(/[=\s]|$/) + i;
    const key = text.slice(i, keyEnd);
    if (!/^[a-z][a-z-]*$/.test(key)) fail(`expected KEY=VALUE words, e.g. ${option} ${JSON.stringify(example)}`);
    if (text[keyEnd] !== '=') {
      words.push([key, true]);
      i = keyEnd;
      continue;
    }
    i = keyEnd + 1;
    let value = '';
    if (text[i] === '"') {
      for (i++; ; i++) {
        if (i >= text.length) fail(`the quote after ${key}= is not closed`);
        if (text[i] === '\\' && text[i + 1] === '"') value += text[++i];
        else if (text[i] === '"') break;
        else value += text[i];
      }
      i++;
      if (i < text.length && !/\s/.test(text[i]!)) fail(`expected a space after the closing quote of ${key}=`);
    } else {
      const end = text.slice(i).search(/\s|$/) + i;
      value = text.slice(i, end);
      i = end;
    }
    words.push([key, value]);
  }
  return words;
}
