/**
 * Test helpers of nbdkit-ts: start the real `nbdkit-ts` command and drive it
 * with real NBD clients.
 *
 * @packageDocumentation
 */
export { NBDSH_EXPECT_ERROR, nbdsh, run, runOk, type NbdshOptions, type RunOptions, type RunResult } from './run.js';
export { cliPath, startServer, tempDir, withServer, type ServerProcess, type StartOptions } from './server-process.js';
export { FAULT_FILTER, MEMORY_PLUGIN } from './layers.js';
export { missingTools, TEST_PATH, TEST_TOOLS } from './tools.js';
export { seededRandom } from '@nbdkit-ts/core';
export { checkLifecycle, leave, LEAVE_WAYS, type LeaveWay, type LifecycleOptions, type LifecycleReport } from './lifecycle.js';
export { Command, requestBytes, WireClient } from './wire-client.js';
export { fioVerify, type FioVerifyOptions } from './fio.js';
