/** The page sizes a paged list offers. */
const PAGE_SIZES = [25, 50, 100];

/** "Per page": how many rows a paged list shows; a change starts again at page one (the caller's `onChange`). */
export function PageSizeSelect({ value, onChange }: { value: number; onChange: (size: number) => void }) {
  return (
    <label>
      Per page{' '}
      <select value={value} onChange={(e) => onChange(Number(e.target.value))}>
        {PAGE_SIZES.map((n) => (
          <option key={n} value={n}>
            {n}
          </option>
        ))}
      </select>
    </label>
  );
}
