import type { CommandModule } from 'yargs';
import { runCommand, UsageError } from '../common.js';

// Placeholder until the report command lands; it refuses clearly rather than pretending.
export const reportCommand: CommandModule = {
  command: 'report',
  describe: '(report: not available in this build yet)',
  handler: () => runCommand(async () => {
    throw new UsageError('the report command is not available in this build yet');
  }),
};
