/**
 * Cheap checks on the text before the cursor that decide whether an inline completion is
 * worth a model call there: the comment/string rule and the mid-word rule.
 */

const WORD_CHARACTER = /[\p{L}\p{N}_$]/u;

const HASH_COMMENT_LANGUAGES = new Set(['python', 'shellscript', 'ruby', 'perl', 'r', 'yaml', 'toml', 'dockerfile', 'makefile']);
const C_LIKE_LANGUAGES = new Set([
  'javascript', 'javascriptreact', 'typescript', 'typescriptreact', 'java', 'go', 'rust',
  'c', 'cpp', 'csharp', 'kotlin', 'scala', 'swift', 'dart', 'php',
]);
// Languages where a backquote opens a string that may span lines.
const BACKQUOTE_STRING_LANGUAGES = new Set(['javascript', 'javascriptreact', 'typescript', 'typescriptreact', 'go', 'kotlin']);
// Languages where a single quote opens a character literal, so `'a` alone is code (a Rust lifetime, a stray quote).
const CHAR_LITERAL_LANGUAGES = new Set(['rust', 'java', 'go', 'c', 'cpp', 'csharp', 'kotlin', 'scala', 'swift']);
const CHAR_LITERAL = /'(?:\\(?:u\{[0-9a-fA-F]{1,6}\}|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|.)|[^\\'\n])'/uy;
const PYTHON_STRING_START = /(?:[rRbBuUfF]{0,2})("""|'''|"|')/y;

/** Where the cursor is, as far as a completion is concerned. */
export type LexicalContext = 'code' | 'comment' | 'string';

/**
 * Tell whether the cursor sits inside a word, with a word character right after it.
 *
 * At the end of a word (`pri|`) a suggestion continues the word, so that is not mid-word.
 * With text of the word after the cursor (`pri|nt`, `|print`), a suggestion must
 * continue into that text or it would split the word; see `continueWord`.
 */
export function isMidWord(lineText: string, column: number): boolean {
  const next = lineText.charAt(column);
  return next !== '' && WORD_CHARACTER.test(next);
}

/** Return the word characters right after the cursor (`nt` for `pri|nt(x)`), or ''. */
export function wordTail(lineText: string, column: number): string {
  let end = column;
  while (end < lineText.length && WORD_CHARACTER.test(lineText.charAt(end))) {
    end++;
  }
  return lineText.slice(column, end);
}

/**
 * Fit a suggestion made at a mid-word cursor to the rest of the word.
 *
 * A suggestion that starts with the word's remaining characters (`nt(x)` at `pri|nt`)
 * continues the word: the result replaces those characters with it, so the editor shows
 * only the new text after the word. Any other suggestion would split the word, and the
 * result is null. Returns the text and how many characters after the cursor it replaces.
 */
export function continueWord(insertText: string, tail: string): { text: string; replacedLength: number } | null {
  if (tail === '') {
    return { text: insertText, replacedLength: 0 };
  }
  if (insertText.length > tail.length && insertText.startsWith(tail)) {
    return { text: insertText, replacedLength: tail.length };
  }
  return null;
}

/**
 * Find whether the end of `textBeforeCursor` is in code, a comment or a string literal.
 *
 * The scan runs from the start of the text, so block comments and strings that span lines
 * (Python triple quotes, JavaScript template literals, Go raw strings) count.
 *
 * NOTE: string interpolation (`${...}` in template literals, `{...}` in f-strings) counts
 * as string, and regular expression literals in JavaScript as code.
 */
export function lexicalContext(textBeforeCursor: string, languageId: string): LexicalContext {
  if (HASH_COMMENT_LANGUAGES.has(languageId)) {
    return scanHashLanguage(textBeforeCursor, languageId === 'python');
  }
  if (C_LIKE_LANGUAGES.has(languageId)) {
    return scanCLikeLanguage(textBeforeCursor, languageId);
  }
  return 'code';
}

function scanHashLanguage(text: string, hasTripleQuotes: boolean): LexicalContext {
  let i = 0;
  while (i < text.length) {
    const character = text[i];
    if (character === '#') {
      const lineEnd = text.indexOf('\n', i);
      if (lineEnd === -1) {
        return 'comment';
      }
      i = lineEnd + 1;
      continue;
    }
    if (character === '"' || character === "'" || (hasTripleQuotes && /[rRbBuUfF]/.test(character) && isStringPrefix(text, i))) {
      PYTHON_STRING_START.lastIndex = i;
      const match = PYTHON_STRING_START.exec(text);
      const quote = match !== null ? match[1] : character;
      const bodyStart = (match !== null ? match.index + match[0].length : i + 1);
      const isTriple = hasTripleQuotes && quote.length === 3;
      const end = findStringEnd(text, bodyStart, quote, !isTriple, true);
      if (end === -1) {
        return 'string';
      }
      i = end;
      continue;
    }
    i++;
  }
  return 'code';
}

/** Tell whether a letter at `index` starts a prefixed Python string such as r"..." or f'...'. */
function isStringPrefix(text: string, index: number): boolean {
  if (index > 0 && WORD_CHARACTER.test(text[index - 1])) {
    return false;
  }
  PYTHON_STRING_START.lastIndex = index;
  return PYTHON_STRING_START.exec(text) !== null;
}

function scanCLikeLanguage(text: string, languageId: string): LexicalContext {
  const hasNestedBlockComments = languageId === 'rust';
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('//', i)) {
      const lineEnd = text.indexOf('\n', i);
      if (lineEnd === -1) {
        return 'comment';
      }
      i = lineEnd + 1;
      continue;
    }
    if (text.startsWith('/*', i)) {
      const end = findBlockCommentEnd(text, i + 2, hasNestedBlockComments);
      if (end === -1) {
        return 'comment';
      }
      i = end;
      continue;
    }
    const character = text[i];
    if (character === "'" && CHAR_LITERAL_LANGUAGES.has(languageId)) {
      CHAR_LITERAL.lastIndex = i;
      const match = CHAR_LITERAL.exec(text);
      i = match !== null ? i + match[0].length : i + 1;
      continue;
    }
    if (character === '"' || character === "'" || (character === '`' && BACKQUOTE_STRING_LANGUAGES.has(languageId))) {
      // Go's raw strings have no escapes, and JavaScript template literals and Go raw strings span lines.
      const isRaw = character === '`' && languageId === 'go';
      const end = findStringEnd(text, i + 1, character, character !== '`', !isRaw);
      if (end === -1) {
        return 'string';
      }
      i = end;
      continue;
    }
    i++;
  }
  return 'code';
}

/**
 * Return the index after the closing `quote` of a string whose body starts at `start`, or
 * -1 when the text ends inside the string. A single-line string that meets a line end
 * is unterminated, and the scan goes on in code after it, as the language's parser recovers.
 */
function findStringEnd(text: string, start: number, quote: string, isSingleLine: boolean, hasEscapes: boolean): number {
  let i = start;
  while (i < text.length) {
    if (hasEscapes && text[i] === '\\') {
      i += 2;
      continue;
    }
    if (text.startsWith(quote, i)) {
      return i + quote.length;
    }
    if (isSingleLine && text[i] === '\n') {
      return i + 1;
    }
    i++;
  }
  return -1;
}

function findBlockCommentEnd(text: string, start: number, isNested: boolean): number {
  let depth = 1;
  let i = start;
  while (i < text.length) {
    if (text.startsWith('*/', i)) {
      depth--;
      i += 2;
      if (depth === 0 || !isNested) {
        return i;
      }
      continue;
    }
    if (isNested && text.startsWith('/*', i)) {
      depth++;
      i += 2;
      continue;
    }
    i++;
  }
  return -1;
}

/** Inputs of `shouldRequestCompletion`, all taken from the editor at request time. */
export interface SuggestionInput {
  textBeforeCursor: string;
  languageId: string;
  isEnabled: boolean;
  inCommentsAndStrings: boolean;
}

/**
 * Decide whether to ask the server for an inline completion at the cursor.
 *
 * A mid-word cursor is not excluded here: the request goes out, and `continueWord` keeps
 * only a suggestion that continues the word.
 */
export function shouldRequestCompletion(input: SuggestionInput): boolean {
  if (!input.isEnabled) {
    return false;
  }
  if (input.inCommentsAndStrings) {
    return true;
  }
  return lexicalContext(input.textBeforeCursor, input.languageId) === 'code';
}
