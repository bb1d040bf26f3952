#!/usr/bin/env node
// npm init @nbdkit-ts/filter NAME runs this: the generator is @nbdkit-ts/create-layer's, shared with create-plugin.
import { main } from '@nbdkit-ts/create-layer';

process.exitCode = main('filter', process.argv.slice(2));
