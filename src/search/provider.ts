// What every search backend gives augmentation: passages of text, each with the title and the source
// (a URL, or a path inside the indexed folder) it came from, best first.

export interface Passage {
  text: string;
  title: string;
  /** URL for web results, path relative to the indexed folder for local ones. */
  source: string;
  score: number;
}

export interface SearchProvider {
  /** The name requests pick it by (`search: {"provider": name}`). */
  readonly name: string;
  readonly kind: 'local' | 'web';
  /** Up to k passages for the query, best first. */
  search(query: string, k: number, signal?: AbortSignal): Promise<Passage[]>;
}
