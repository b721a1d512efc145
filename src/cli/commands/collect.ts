import type { CommandModule } from 'yargs';
import { runCommand, UsageError } from '../common.js';

// Placeholder until the collect command lands; it refuses clearly rather than pretending.
export const collectCommand: CommandModule = {
  command: 'collect',
  describe: '(collect: not available in this build yet)',
  handler: () => runCommand(async () => {
    throw new UsageError('the collect command is not available in this build yet');
  }),
};
