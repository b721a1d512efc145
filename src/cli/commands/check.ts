import type { CommandModule } from 'yargs';
import { runCommand, UsageError } from '../common.js';

// Placeholder until the check command lands; it refuses clearly rather than pretending.
export const checkCommand: CommandModule = {
  command: 'check',
  describe: '(check: not available in this build yet)',
  handler: () => runCommand(async () => {
    throw new UsageError('the check command is not available in this build yet');
  }),
};
