// Preloaded (node --import) into the BFF's main.js by test/logging.e2e-spec.ts: a line on stdin makes a
// fatal error happen inside the running process, as a bug would: `throw` → an uncaught exception,
// `reject` → an unhandled promise rejection. Nothing else of the process is changed.
process.stdin.setEncoding('utf8');
process.stdin.on('data', (text) => {
  for (const command of text.split('\n')) {
    if (command === 'throw')
      setImmediate(() => {
        throw new Error('boom from the test: uncaught');
      });
    if (command === 'reject') void Promise.reject(new Error('boom from the test: rejected'));
  }
});
