// The viewer's page at `/` (viewer/ in the package: HTML, CSS and JS, no CDN), read once and
// served as they are. They hold no data, so they need no token; the page calls /v1/* with one.
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { projectPath } from '../project.js';

const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/viewer.css': { file: 'viewer.css', type: 'text/css; charset=utf-8' },
  '/viewer.js': { file: 'viewer.js', type: 'text/javascript; charset=utf-8' },
};

export const VIEWER_PATHS = Object.keys(FILES);

export class ViewerFiles {
  private constructor(private readonly contents: Map<string, { body: Buffer; type: string }>) {}

  static load(dir = projectPath('viewer')): ViewerFiles {
    return new ViewerFiles(new Map(Object.entries(FILES).map(([path, { file, type }]) => [path, { body: readFileSync(join(dir, file)), type }])));
  }

  /** Answers `path` if it is one of the viewer's files; false otherwise. */
  send(path: string, response: ServerResponse): boolean {
    const file = this.contents.get(path);
    if (!file) return false;
    response.writeHead(200, {
      'content-type': file.type,
      'content-length': String(file.body.length),
      // The page and its script only ever talk to this server.
      'content-security-policy': "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:",
      'x-content-type-options': 'nosniff',
    });
    response.end(file.body);
    return true;
  }
}
