import type { CommandModule } from 'yargs';
import { runCommand, UsageError } from '../common.js';

// Placeholder until the explain command lands; it refuses clearly rather than pretending.
export const explainCommand: CommandModule = {
  command: 'explain',
  describe: '(explain: not available in this build yet)',
  handler: () => runCommand(async () => {
    throw new UsageError('the explain command is not available in this build yet');
  }),
};
