/**
 * `npm run doctor`: checks a deployment's settings before it goes live with Mydex and prints one line
 * per check (README, "Going live with Mydex"). With MYDEX_ISSUER set it checks that Mydex; without, the
 * local emulator (started here when none is listening). Exit status 0 when no check failed, 1 otherwise.
 */
import { runDoctor } from '../src/doctor/doctor.js';

runDoctor({ env: process.env }).then(
  (report) => process.exit(report.exitCode),
  (error: unknown) => {
    // Only the message: the doctor's own failures never carry a setting's value.
    process.stderr.write(`npm run doctor stopped: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
