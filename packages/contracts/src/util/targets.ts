/**
 * The canvas an annotation's target points at: the source of a SpecificResource, or a target URI
 * without its media fragment. Only a media fragment (`#xywh=`, `#t=`) is cut off: a canvas id may
 * have a fragment of its own (`manifest#p1`). Typed by shape, so that a stored annotation read
 * back as JSON passes as well as an `Annotation`.
 */
export function canvasOfTarget(target: string | { readonly source: string | { readonly id: string } }): string {
  if (typeof target === 'string') return target.replace(/#(?:xywh|t)=[^#]*$/, '');
  return typeof target.source === 'string' ? target.source : target.source.id;
}
