import type { AnnotationItem, AnnotationQueue } from '@contract/schema';

/**
 * The annotation walk, kept outside the panel so that it survives switching tabs (the side panel
 * mounts only the tab on screen): an analyst can look at Results and come back to the same chip.
 */
export const walk = $state({
  /** Which view the Captions tab shows: the selected hit's captions or the annotation walk. */
  view: 'hit' as 'hit' | 'annotate',
  archiveId: '',
  mode: 'uncaptioned' as AnnotationQueue['mode'],
  started: false,
  items: [] as AnnotationItem[],
  next: null as number | null,
  remaining: 0,
  at: 0,
  /** Chips captioned in this walk, and with what. */
  captioned: {} as Record<string, string>,
});
