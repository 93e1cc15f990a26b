/**
 * The extension's settings: which ones stay in the client, and how the others map onto
 * the server's settings tree (`initializationOptions`).
 */

/** Settings the client itself acts on. */
export interface ClientSettings {
  serverCommand: string[];
  pythonPath: string;
  completionsEnabled: boolean;
  debounceMs: number;
  inCommentsAndStrings: boolean;
  languages: string[];
}

/**
 * Extension setting (below the `ragcoder.` section) to dotted key in the server's settings
 * tree, as defined by `assistant/config.py`.
 */
export const SERVER_SETTING_KEYS: Readonly<Record<string, string>> = {
  modelPath: 'model.path',
  'completions.debounceMs': 'completion.debounce_ms',
  'completions.maxTokens': 'completion.max_tokens',
  'completions.contextTokens': 'completion.context_tokens',
  'ask.contextTokens': 'ask.context_tokens',
};

/** The subset of `vscode.WorkspaceConfiguration` that reading settings needs. */
export interface ConfigurationReader {
  get<T>(section: string): T | undefined;
  inspect<T>(section: string):
    | {
        globalValue?: T;
        workspaceValue?: T;
        workspaceFolderValue?: T;
        globalLanguageValue?: T;
        workspaceLanguageValue?: T;
        workspaceFolderLanguageValue?: T;
      }
    | undefined;
}

export type SettingsTree = { [key: string]: SettingsTree | string | number | boolean };

/** Read the client-side settings; the defaults come from the extension's package.json. */
export function readClientSettings(config: ConfigurationReader): ClientSettings {
  return {
    serverCommand: config.get<string[]>('serverCommand') ?? [],
    pythonPath: (config.get<string>('pythonPath') ?? '').trim(),
    completionsEnabled: config.get<boolean>('completions.enabled') ?? true,
    debounceMs: Math.max(0, config.get<number>('completions.debounceMs') ?? 0),
    inCommentsAndStrings: config.get<boolean>('completions.inCommentsAndStrings') ?? false,
    languages: config.get<string[]>('languages') ?? [],
  };
}

/** Tell whether the user set `section` anywhere, rather than leaving the default. */
export function isUserSet(config: ConfigurationReader, section: string): boolean {
  const values = config.inspect<unknown>(section);
  if (values === undefined) {
    return false;
  }
  return [
    values.globalValue,
    values.workspaceValue,
    values.workspaceFolderValue,
    values.globalLanguageValue,
    values.workspaceLanguageValue,
    values.workspaceFolderLanguageValue,
  ].some((value) => value !== undefined);
}

/**
 * Build the server's `initializationOptions` from the settings the user set.
 *
 * Settings left at their defaults are left out, because the options are merged over the
 * repository's `[tool.ragcoder]` and `.ragcoder.toml`, and a default sent from here would
 * override a value chosen there.
 */
export function initializationOptions(config: ConfigurationReader): SettingsTree {
  const tree: SettingsTree = {};
  for (const [section, dottedKey] of Object.entries(SERVER_SETTING_KEYS)) {
    if (!isUserSet(config, section)) {
      continue;
    }
    const value = config.get<string | number | boolean>(section);
    if (value !== undefined) {
      setDotted(tree, dottedKey, value);
    }
  }
  return tree;
}

function setDotted(tree: SettingsTree, dottedKey: string, value: string | number | boolean): void {
  const names = dottedKey.split('.');
  let node = tree;
  for (const name of names.slice(0, -1)) {
    const child = node[name];
    if (typeof child !== 'object') {
      node[name] = {};
    }
    node = node[name] as SettingsTree;
  }
  node[names[names.length - 1]] = value;
}
