import type { CommandModule } from 'yargs';
import { runCommand, UsageError } from '../common.js';

// Placeholder until the policies command lands; it refuses clearly rather than pretending.
export const policiesCommand: CommandModule = {
  command: 'policies',
  describe: '(policies: not available in this build yet)',
  handler: () => runCommand(async () => {
    throw new UsageError('the policies command is not available in this build yet');
  }),
};
