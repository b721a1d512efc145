import type { CommandModule } from 'yargs';
import { runCommand, UsageError } from '../common.js';

// Placeholder until the flows command lands; it refuses clearly rather than pretending.
export const flowsCommand: CommandModule = {
  command: 'flows',
  describe: '(flows: not available in this build yet)',
  handler: () => runCommand(async () => {
    throw new UsageError('the flows command is not available in this build yet');
  }),
};
