// Runs before every integration test file. Jest reads `testTimeout` only from the top-level config,
// so the integration project's longer limit (real servers, clusters) is set here.
jest.setTimeout(30_000);
