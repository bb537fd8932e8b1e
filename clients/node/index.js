'use strict';
/**
 * wa-sidecar-client: the wa-policy-sidecar gRPC API (wasidecar.v1) for Node.
 *
 *   const { SidecarClient, SendRefused, WebhookRejected } = require('wa-sidecar-client');
 *
 * Types: index.d.ts (messages generated from the .proto files into types/).
 */
const { SidecarClient, ADDR_ENV, TOKEN_ENV, DEFAULT_ADDR, DEFAULT_TIMEOUT_MS } = require('./lib/client');
const errors = require('./lib/errors');
const { loadServices, protoDir, LOADER_OPTIONS } = require('./lib/proto');

module.exports = {
  SidecarClient,
  ADDR_ENV,
  TOKEN_ENV,
  DEFAULT_ADDR,
  DEFAULT_TIMEOUT_MS,
  loadServices,
  protoDir,
  LOADER_OPTIONS,
  ...errors,
};
