import { numberOption } from './options.js';
import { str, type Args, type CommandContext } from './command-table.js';

/**
 * `loupe iiif serve <folder>`: serves until Ctrl-C (or SIGTERM), then closes the port and exits 0.
 * The manifest URL goes to standard output alone, for `$(loupe iiif serve ...)`-style scripts and
 * for the person to paste into `loupe run`.
 */
export async function iiifServeCommand(args: Args, ctx: CommandContext, signals: NodeJS.EventEmitter = process): Promise<number> {
  const { serveFolder } = await import('./commands/iiif.js');
  const port = numberOption('port', str(args, 'port'), true, { min: 0, max: 65535 });
  const host = str(args, 'host');
  const server = await serveFolder({ folder: str(args, 'folder')!, port, host });
  ctx.stderr(`loupe: serving ${server.images.length} images of ${str(args, 'folder')} as IIIF Image API 3 at ${server.url}/iiif/ (Ctrl-C stops); the manifest:`);
  ctx.stdout(server.manifestUrl);
  ctx.stderr(`loupe: annotate them with: loupe run ${server.manifestUrl}`);
  const stop = (): void => {
    signals.off('SIGINT', stop);
    signals.off('SIGTERM', stop);
    void server.close().then(() => {
      process.exitCode = 0;
    });
  };
  signals.on('SIGINT', stop);
  signals.on('SIGTERM', stop);
  return -1;
}
