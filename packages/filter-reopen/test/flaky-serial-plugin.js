// The flaky plugin, declaring serialize-connections: the layers beneath the
// reopen filter then cannot hold two contexts at once.
import { flakyPlugin } from './flaky-plugin.js';

export default flakyPlugin('serialize-connections');
