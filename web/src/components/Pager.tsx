/** Previous and Next for a paged list, with where the list is (announced as it changes). */
export function Pager({ canPrevious, canNext, onPrevious, onNext, text, label = 'Results pages' }: {
  canPrevious: boolean;
  canNext: boolean;
  onPrevious: () => void;
  onNext: () => void;
  text: string;
  label?: string;
}) {
  return (
    <nav className="pager" aria-label={label}>
      <button type="button" disabled={!canPrevious} onClick={onPrevious}>
        Previous
      </button>
      <span aria-live="polite">{text}</span>
      <button type="button" disabled={!canNext} onClick={onNext}>
        Next
      </button>
    </nav>
  );
}
