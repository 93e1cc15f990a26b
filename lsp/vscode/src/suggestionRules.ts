/**
 * Cheap checks on the line text that decide whether an inline completion is worth a
 * model call at the cursor: the mid-word rule and the comment/string rule.
 */

const WORD_CHARACTER = /[\p{L}\p{N}_$]/u;

const HASH_COMMENT_LANGUAGES = new Set(['python', 'shellscript', 'ruby', 'perl', 'r', 'yaml', 'toml']);

/**
 * Tell whether the cursor sits inside a word, with a word character right after it.
 *
 * At the end of a word (`pri|`) a suggestion continues the word, so that is allowed. With
 * text of the word after the cursor (`pri|nt`, `|print`), a suggestion would split it.
 */
export function isMidWord(lineText: string, column: number): boolean {
  const next = lineText.charAt(column);
  return next !== '' && WORD_CHARACTER.test(next);
}

/**
 * Tell whether the cursor is inside a comment or a string literal, judged from the text
 * of its own line before the cursor.
 *
 * NOTE: this checks one line only, so the middle lines of a block comment that do not start
 * with `*`, and of Python triple-quoted strings, count as code.
 */
export function isInCommentOrString(lineText: string, column: number, languageId: string): boolean {
  const before = lineText.slice(0, column);
  if (/^\s*(\*|\/\*)/.test(before) && !HASH_COMMENT_LANGUAGES.has(languageId)) {
    return true;
  }

  let quote: string | null = null;
  for (let i = 0; i < before.length; i++) {
    const character = before[i];
    if (quote !== null) {
      if (character === '\\') {
        i++;
      } else if (character === quote) {
        quote = null;
      }
      continue;
    }
    if (character === '"' || character === "'" || character === '`') {
      quote = character;
    } else if (startsComment(before, i, languageId)) {
      return true;
    }
  }
  return quote !== null;
}

function startsComment(text: string, index: number, languageId: string): boolean {
  if (HASH_COMMENT_LANGUAGES.has(languageId)) {
    return text[index] === '#';
  }
  return text.startsWith('//', index) || text.startsWith('/*', index);
}

/** Inputs of `shouldRequestCompletion`, all taken from the editor at request time. */
export interface SuggestionInput {
  lineText: string;
  column: number;
  languageId: string;
  isEnabled: boolean;
  inCommentsAndStrings: boolean;
}

/** Decide whether to ask the server for an inline completion at the cursor. */
export function shouldRequestCompletion(input: SuggestionInput): boolean {
  if (!input.isEnabled || isMidWord(input.lineText, input.column)) {
    return false;
  }
  if (input.inCommentsAndStrings) {
    return true;
  }
  return !isInCommentOrString(input.lineText, input.column, input.languageId);
}
