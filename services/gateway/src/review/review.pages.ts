import type { StaticPage } from '@loupe/contracts';
import { reviewScript } from './review.bundle.js';
import { REVIEW_HTML } from './review.html.js';
import { REVIEW_STYLE } from './review.style.js';

let script: string | undefined;

/** The curators' review page and its two same-origin assets, served by the gateway. */
export const REVIEW_PAGES: readonly StaticPage[] = [
  { url: '/review', contentType: 'text/html; charset=utf-8', body: REVIEW_HTML },
  {
    url: '/review/app.js',
    contentType: 'text/javascript; charset=utf-8',
    // Read (or, on the sources, bundled) when first served, not when the gateway module loads.
    get body() {
      return (script ??= reviewScript());
    },
  },
  { url: '/review/app.css', contentType: 'text/css; charset=utf-8', body: REVIEW_STYLE },
];
