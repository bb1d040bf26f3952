// A filter that adds nothing: every call passes through to the layer beneath.
import { API_VERSION, defineFilter } from '@nbdkit-ts/core';

export default defineFilter({ apiVersion: API_VERSION, name: 'pass-through' });
