/**
 * The contract's public face: the method/event map with its schemas, the client interface every
 * transport implements, the boundary dispatcher and the HTTP client. Imports nothing platform-bound.
 */
export * from './schema.js';
export * from './errors.js';
export * from './client.js';
export * from './names.js';
export * from './choices.js';
export { dispatch, createInProcessClient, type Handlers, type DispatchTarget } from './dispatch.js';
export { createHttpClient, type HttpClient, type HttpClientOptions, type SocketFactory, type SocketLike } from './http-client.js';
