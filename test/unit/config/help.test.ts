import { describe, expect, it } from 'vitest';
import { helpText } from '../../../src/config/help.js';
import { CONFIG_FILE_ENV, CONFIG_FILE_FLAG, OPTIONS } from '../../../src/config/options.js';

const help = helpText();

describe('helpText', () => {
  it.each(OPTIONS.map((spec) => [spec.key, spec] as const))('lists %s with its variable, flag and key', (_key, spec) => {
    expect(help).toContain(spec.env);
    const flag = spec.type === 'bool' ? `--[no-]${spec.flag}` : `--${spec.flag} `;
    expect(help).toContain(flag);
    expect(help).toContain(`[key: ${spec.key}]`);
    // Variable and flag share one row.
    const row = help.split('\n').find((line) => line.includes(spec.env));
    expect(row).toContain(`--`);
    expect(row).toContain(spec.flag);
  });

  it('lists the config file flag and variable, and --help', () => {
    expect(help).toContain(`--${CONFIG_FILE_FLAG} FILE`);
    expect(help).toContain(CONFIG_FILE_ENV);
    expect(help).toMatch(/^\s+--help\s/m);
  });

  it('states the precedence', () => {
    expect(help).toContain('flags > environment > config file > defaults');
  });

  it('every variable and flag is unique', () => {
    expect(new Set(OPTIONS.map((spec) => spec.env)).size).toBe(OPTIONS.length);
    expect(new Set(OPTIONS.map((spec) => spec.flag)).size).toBe(OPTIONS.length);
    expect(OPTIONS.map((spec) => spec.flag)).not.toContain(CONFIG_FILE_FLAG);
    expect(OPTIONS.map((spec) => spec.env)).not.toContain(CONFIG_FILE_ENV);
  });

  it('ends with a newline', () => {
    expect(help.endsWith('\n')).toBe(true);
  });
});
