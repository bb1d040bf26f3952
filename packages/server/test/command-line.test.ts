import { describe, expect, it } from 'vitest';
import type { Filter, Plugin } from '@nbdkit-ts/core';
import { parseArgs, UsageError } from '../src/cli/args.js';
import { routeParams, UnknownParameter } from '../src/stack/params.js';

describe('parseArgs', () => {
  it('takes options before and after the plugin, clustered short options, and values attached or apart', () => {
    const a = parseArgs(['-fvr', '-U/tmp/s', 'file', 'disk.img', '--filter=cow', 'a=1', '-e', 'x', '--filter', 'cache', '--', '-b']);
    expect(a).toMatchObject({
      plugin: 'file',
      params: ['disk.img', 'a=1', '-b'],
      filters: ['cow', 'cache'],
      unixSocket: '/tmp/s',
      foreground: true,
      verbose: true,
      readonly: true,
      exportName: 'x',
    });
  });

  it('--run implies the foreground; --no-sr, --tls and the timeouts are read', () => {
    const a = parseArgs(['--run', 'true', '--no-sr', '--tls=require', '--request-timeout', '2.5', '--max-connections=3', '-t', '4', 'null']);
    expect(a).toMatchObject({ foreground: true, noStructuredReplies: true, tls: { mode: 'require' }, requestTimeout: 2.5, maxConnections: 3, threads: 4 });
  });

  it('-s, --single and --stdin serve one client on stdin and stdout, in the foreground', () => {
    for (const option of ['-s', '--single', '--stdin']) expect(parseArgs([option, 'null'])).toMatchObject({ single: true, foreground: true });
    expect(parseArgs(['null'])).toMatchObject({ single: false, foreground: false });
  });

  it.each([
    [['--nope'], 'unknown option --nope'],
    [['--verbose=1'], '--verbose takes no value'],
    [['--run'], '--run needs a value'],
    [['-U', 'a', '-p', '1', 'null'], '-U and -p cannot be used together'],
    [['-s', '-U', 'a', 'null'], '-s and -U cannot be used together'],
    [['--single', '-p', '1', 'null'], '-s and -p cannot be used together'],
    [['-s', '--run', 'true', 'null'], '-s and --run cannot be used together'],
    [['--dump-plugin', '--stdin', 'null'], '-s and --dump-plugin cannot be used together'],
    [['--tls=maybe', 'null'], '--tls=maybe: expected off, on or require'],
    [['--max-connections=0', 'null'], '--max-connections=0: expected a whole number from 1 to 9007199254740991'],
    [['-t', '0', 'null'], '--threads=0: expected a whole number from 1 to 9007199254740991'],
    [['--threads=many', 'null'], '--threads=many: expected a whole number from 1 to 9007199254740991'],
    [['--request-timeout=soon', 'null'], '--request-timeout=soon: not a number of seconds'],
  ])('%j is refused: %s', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(UsageError);
    expect(() => parseArgs(argv)).toThrow(message);
  });
});

const filter = (name: string, keys: string[]): Filter => ({ kind: 'filter', apiVersion: 1, name, params: keys.map((k) => ({ name: k, description: k })) });
const plugin = (name: string, keys: string[], extra: Partial<Plugin> = {}): Plugin => ({
  kind: 'plugin',
  apiVersion: 1,
  name,
  params: keys.map((k, i) => ({ name: k, description: k, magic: i === 0 })),
  open: () => ({ capabilities: () => ({ size: 0n }) }),
  ...extra,
});

describe('routeParams', () => {
  it('gives a key to the outermost layer that declares it, bare words to the magic key, in order', () => {
    const layers = [filter('a', ['x']), filter('b', ['x', 'y']), plugin('p', ['file', 'y'])];
    expect(routeParams(layers, ['y=1', 'disk.img', 'x=2', 'file=other=='])).toEqual([
      { index: 1, key: 'y', value: '1' },
      { index: 2, key: 'file', value: 'disk.img' },
      { index: 0, key: 'x', value: '2' },
      { index: 2, key: 'file', value: 'other==' },
    ]);
  });

  it('refuses a key no layer declares, naming every layer and its keys', () => {
    const layers = [filter('a', ['x']), plugin('p', ['file'])];
    expect(() => routeParams(layers, ['size=1'])).toThrow(UnknownParameter);
    expect(() => routeParams(layers, ['size=1'])).toThrow(/unknown parameter "size"\n {2}filter a: x\n {2}plugin p: file \(magic\)/);
  });

  it('gives undeclared keys to a plugin that takes other keys, after every declared one', () => {
    const layers = [filter('a', ['x']), plugin('sh', ['script'], { otherParams: "the script's own" })];
    expect(routeParams(layers, ['s.sh', 'x=1', 'size=1M'])).toEqual([
      { index: 1, key: 'script', value: 's.sh' },
      { index: 0, key: 'x', value: '1' },
      { index: 1, key: 'size', value: '1M' },
    ]);
  });

  it('refuses a bare word when the plugin has no magic key', () => {
    expect(() => routeParams([plugin('p', [])], ['disk.img'])).toThrow(/disk\.img: plugin "p" takes no bare word/);
  });
});
