// The explanation toggle: an annotation's saliency overlay (where the model found what it said)
// laid over the canvas image. The overlay is the image with the heat on it, so it covers the
// picture exactly; the boxes stay drawn above it.
import { type Annotation, nameOf } from './annotation.model.js';
import { apiImage } from './api.client.js';
import { $, el } from './dom.helpers.js';
import { ApiError, say } from './status.view.js';

let shown: { key: string; url: string } | null = null;
let asking = 0;

/** Only classifications and boxes have a model score to take apart (the route refuses the rest). */
export function explainable(a: Annotation): boolean {
  return (a.motivation === 'classifying' && a.concept !== '') || (a.motivation === 'tagging' && a.box !== null);
}

export function explanationShown(key: string): boolean {
  return shown !== null && shown.key === key;
}

function overlayImage(): HTMLImageElement {
  const found = document.getElementById('explanation-image') as HTMLImageElement | null;
  if (found) return found;
  const img = el('img', { id: 'explanation-image', class: 'explanation', alt: '' });
  // CSSOM, not a style attribute: the page's CSP allows its own style sheet only.
  Object.assign(img.style, { position: 'absolute', left: '0', top: '0', width: '100%', height: '100%', pointerEvents: 'none' });
  img.hidden = true;
  $('stage').insertBefore(img, $('overlay'));
  return img;
}

/** Hides the overlay (another canvas, or the toggle pressed again) and frees its image. */
export function hideExplanation(): void {
  asking++;
  if (!shown) return;
  URL.revokeObjectURL(shown.url);
  shown = null;
  const img = overlayImage();
  img.hidden = true;
  img.removeAttribute('src');
}

/**
 * Shows the annotation's explanation, or hides it when it is the one shown. The first request
 * computes it (dozens of model passes: seconds), later ones read the one kept.
 */
export async function toggleExplanation(a: Annotation, onChange: () => void): Promise<void> {
  if (explanationShown(a.key)) {
    hideExplanation();
    onChange();
    say('Explanation hidden');
    return;
  }
  hideExplanation();
  const token = asking;
  say("Explaining '" + nameOf(a) + "': the first time takes a few seconds");
  let blob: Blob;
  try {
    blob = await apiImage('v1/annotations/' + encodeURIComponent(a.key) + '/explanation');
  } catch (err) {
    say(err instanceof ApiError ? 'No explanation: ' + err.message : 'No explanation');
    return;
  }
  if (token !== asking) return;
  const url = URL.createObjectURL(blob);
  shown = { key: a.key, url };
  const img = overlayImage();
  img.alt = 'Where the model found ' + nameOf(a);
  img.src = url;
  img.hidden = false;
  onChange();
  say("Explanation of '" + nameOf(a) + "' shown over the image");
}
