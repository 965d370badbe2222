import { CONFIG_FILE_ENV, CONFIG_FILE_FLAG, OPTIONS } from './options.js';

/** `switchboard --help`: every flag with its environment variable and config key. */
export function helpText(): string {
  const rows: Array<[string, string, string]> = [
    [`--${CONFIG_FILE_FLAG} FILE`, CONFIG_FILE_ENV, 'JSON config file (any key below, plus realms).'],
    ...OPTIONS.map((spec): [string, string, string] => [
      spec.type === 'bool' ? `--[no-]${spec.flag}` : `--${spec.flag} ${spec.type === 'int' ? 'N' : 'VALUE'}`,
      spec.env,
      `${spec.help} [key: ${spec.key}]`,
    ]),
    ['--help', '', 'Show this help.'],
  ];
  const width0 = Math.max(...rows.map((row) => row[0].length));
  const width1 = Math.max(...rows.map((row) => row[1].length));
  const lines = rows.map(([flag, env, help]) => `  ${flag.padEnd(width0)}  ${env.padEnd(width1)}  ${help}`);
  return [
    'Usage: switchboard [options]',
    '',
    'Switchboard routes WAMP (wamp.2.json, wamp.2.cbor) and MQTT on one WebSocket port.',
    'Precedence: flags > environment > config file > defaults.',
    '',
    'Options:',
    ...lines,
    '',
  ].join('\n');
}
