/** The README's configuration reference lists every environment variable, flag and key the router accepts. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OPTIONS } from '../../src/config/options.js';

const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');

describe('README configuration reference', () => {
  it.each(OPTIONS.map((spec) => [spec.key, spec] as const))('documents %s', (_key, spec) => {
    expect(readme).toContain(`\`${spec.key}\``);
    expect(readme).toContain(`\`${spec.env}\``);
    expect(readme).toContain(spec.type === 'bool' ? `--[no-]${spec.flag}` : `--${spec.flag}`);
  });
});
