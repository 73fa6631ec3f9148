/** The page sizes a paged list offers. */
const PAGE_SIZES = [25, 50, 100];

/**
 * "Per page": how many rows a paged list shows; a change starts again at page one (the caller's `onChange`).
 * A size the list offers no choice for (one from a link) is offered too, so the control shows it.
 */
export function PageSizeSelect({ value, onChange }: { value: number; onChange: (size: number) => void }) {
  const sizes = PAGE_SIZES.includes(value) ? PAGE_SIZES : [...PAGE_SIZES, value].sort((a, b) => a - b);
  return (
    <label>
      Per page{' '}
      <select value={value} onChange={(e) => onChange(Number(e.target.value))}>
        {sizes.map((n) => (
          <option key={n} value={n}>
            {n}
          </option>
        ))}
      </select>
    </label>
  );
}
