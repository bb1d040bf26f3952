#!/usr/bin/env node
// npm init @nbdkit-ts/plugin NAME runs this: the generator is @nbdkit-ts/create-layer's, shared with create-filter.
import { main } from '@nbdkit-ts/create-layer';

process.exitCode = main('plugin', process.argv.slice(2));
