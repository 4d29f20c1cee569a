// What a view of the studio is: an id (its #hash), a title (its tab), its element, and hooks the
// shell calls. The shell (main.ts) lists views in order; a new section (e.g. the lessons) is one
// more entry there.

export interface View {
  id: string;
  title: string;
  el: HTMLElement;
  /** called once after the engine started: restored says whether a run came back from this browser */
  boot?(restored: boolean): Promise<void>;
  /** called each time the view is shown */
  shown?(): void;
}
