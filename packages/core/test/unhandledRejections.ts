// One watcher for every package's tests: it lives beside @toolkit/cache's test helpers.
export { watchUnhandledRejections } from '../../cache/test/unhandledRejections';
